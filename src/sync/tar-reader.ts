/**
 * A small reader for gzip-compressed ustar archives (npm tarballs): node:zlib inflates, and the
 * 512-byte headers are walked for one file. Enough for package/package.json, not a general tar.
 */
import { gunzipSync } from 'node:zlib';

/** Tarballs whose package.json is further than this into the archive are not read (zip bombs). */
const MAX_INFLATED = 256 * 1024 * 1024;

export class TarError extends Error {
  override readonly name = 'TarError';
}

/** The bytes of the first regular file whose path `match` accepts, or null if none. */
export function readTgzEntry(tgz: Uint8Array, match: (path: string) => boolean): Buffer | null {
  let tar: Buffer;
  try {
    tar = gunzipSync(tgz, { maxOutputLength: MAX_INFLATED });
  } catch (err) {
    throw new TarError(`not a gzip archive (${(err as Error).message})`);
  }
  let offset = 0;
  let longName: string | null = null;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) return null;
    const field = (start: number, length: number) => {
      const raw = header.subarray(start, start + length);
      const end = raw.indexOf(0);
      return raw.subarray(0, end === -1 ? length : end).toString('utf8');
    };
    const sizeText = field(124, 12).trim();
    if (!/^[0-7]*$/.test(sizeText)) throw new TarError(`a tar header at byte ${offset} has no valid size`);
    const size = sizeText === '' ? 0 : parseInt(sizeText, 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = offset + 512;
    if (body + size > tar.length) throw new TarError(`the archive ends inside ${name}`);
    longName = null;
    if (type === 'L') longName = tar.subarray(body, body + size).toString('utf8').replace(/\0+$/, '');
    else if ((type === '0' || type === '' || type === '\0') && match(name)) return Buffer.from(tar.subarray(body, body + size));
    offset = body + Math.ceil(size / 512) * 512;
  }
  return null;
}
