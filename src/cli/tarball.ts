/** A minimal ustar writer + gzip: enough to make real npm tarballs for the demo registry. */
import { gzipSync } from 'node:zlib';

export function tgz(files: Array<{ path: string; content: string | Uint8Array }>, mtime = new Date('2021-01-01T00:00:00Z')): Buffer {
  const blocks: Buffer[] = [];
  for (const f of files) {
    const body = typeof f.content === 'string' ? Buffer.from(f.content) : Buffer.from(f.content);
    const header = Buffer.alloc(512);
    header.write(f.path, 0, 100, 'utf8');
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(body.length.toString(8).padStart(11, '0') + '\0', 124);
    header.write(Math.floor(mtime.getTime() / 1000).toString(8).padStart(11, '0') + '\0', 136);
    header.write('        ', 148); // checksum is computed with this field as spaces
    header.write('0', 156);
    header.write('ustar\0', 257);
    header.write('00', 263);
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(header, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks), { level: 9 });
}
