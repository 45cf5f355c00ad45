/**
 * Reads one file out of a gzip-compressed ustar archive (an npm tarball) as its bytes stream by:
 * node:zlib inflates, and the 512-byte headers are walked as they arrive. Only the file asked for is
 * kept, and only up to a bound, so a sync holds kilobytes however large the tarball is. Enough for
 * package/package.json, not a general tar.
 */
import { createGunzip, type Gunzip } from 'node:zlib';

/** Tarballs whose file is further than this into the archive are not read (zip bombs). */
const MAX_INFLATED = 256 * 1024 * 1024;
/** A GNU long name (type L) longer than this is not a path anyone publishes. */
const MAX_LONG_NAME = 64 * 1024;

export class TarError extends Error {
  override readonly name = 'TarError';
}

export class TgzEntryReader {
  private readonly gunzip: Gunzip;
  private inflated = 0;
  /** Set once the answer is known (found, absent, or an error): later bytes are only hashed by the caller. */
  private settled = false;
  private found: Buffer | null = null;
  private failure: TarError | null = null;

  private headerParts: Buffer[] = [];
  private headerLength = 0;
  private entryName = '';
  private bodyLeft = 0;
  private paddingLeft = 0;
  private capture: 'entry' | 'longName' | null = null;
  private captured: Buffer[] = [];
  private capturedLength = 0;
  private longName: string | null = null;

  /**
   * @param match which path to read (the first regular file it accepts)
   * @param maxEntryBytes the most of that file kept; a larger one is a TarError
   */
  constructor(
    private readonly match: (path: string) => boolean,
    private readonly maxEntryBytes: number,
  ) {
    this.gunzip = createGunzip();
    this.gunzip.on('data', (d: Buffer) => this.consume(d));
    this.gunzip.on('error', (err) => this.fail(`not a gzip archive (${err.message})`));
  }

  /** Feeds compressed bytes; resolves once zlib has taken them (backpressure for the caller's loop). */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.settled) return;
    // zlib calls back once it has taken the chunk; after an error it may never call back at all.
    await new Promise<void>((resolve) => {
      const done = () => {
        this.gunzip.off('error', done);
        resolve();
      };
      this.gunzip.once('error', done);
      this.gunzip.write(chunk, () => done());
    });
  }

  /** The file's bytes, or null when the archive has no such file; TarError when it cannot be read. */
  async end(): Promise<Buffer | null> {
    if (!this.settled) {
      await new Promise<void>((resolve) => {
        this.gunzip.once('end', resolve);
        this.gunzip.once('error', () => resolve());
        this.gunzip.end();
      });
      if (!this.settled && this.bodyLeft > 0) this.fail(`the archive ends inside ${this.entryName}`);
    }
    this.gunzip.destroy();
    if (this.failure) throw this.failure;
    return this.found;
  }

  private fail(message: string): void {
    if (this.settled) return;
    this.failure = new TarError(message);
    this.settled = true;
  }

  private consume(d: Buffer): void {
    if (this.settled) return;
    this.inflated += d.length;
    if (this.inflated > MAX_INFLATED) return this.fail(`the file is not within the first ${MAX_INFLATED / 1024 / 1024} MiB of the archive`);
    let offset = 0;
    while (offset < d.length && !this.settled) {
      if (this.bodyLeft > 0) {
        const n = Math.min(this.bodyLeft, d.length - offset);
        if (this.capture) this.keep(d.subarray(offset, offset + n));
        offset += n;
        this.bodyLeft -= n;
        if (this.bodyLeft === 0) this.finishEntry();
      } else if (this.paddingLeft > 0) {
        const n = Math.min(this.paddingLeft, d.length - offset);
        offset += n;
        this.paddingLeft -= n;
      } else {
        const n = Math.min(512 - this.headerLength, d.length - offset);
        this.headerParts.push(Buffer.from(d.subarray(offset, offset + n)));
        this.headerLength += n;
        offset += n;
        if (this.headerLength === 512) this.readHeader(Buffer.concat(this.headerParts));
      }
    }
  }

  private keep(part: Buffer): void {
    this.capturedLength += part.length;
    const max = this.capture === 'longName' ? MAX_LONG_NAME : this.maxEntryBytes;
    if (this.capturedLength > max) return this.fail(`${this.capture === 'longName' ? 'a long file name' : this.entryName} is larger than ${max} bytes`);
    this.captured.push(Buffer.from(part));
  }

  private readHeader(header: Buffer): void {
    this.headerParts = [];
    this.headerLength = 0;
    // Two zero blocks end the archive; one is enough to know the file is not in it.
    if (header.every((b) => b === 0)) {
      this.settled = true;
      return;
    }
    const field = (start: number, length: number) => {
      const raw = header.subarray(start, start + length);
      const end = raw.indexOf(0);
      return raw.subarray(0, end === -1 ? length : end).toString('utf8');
    };
    const sizeText = field(124, 12).trim();
    if (!/^[0-7]*$/.test(sizeText)) return this.fail('a tar header has no valid size');
    const size = sizeText === '' ? 0 : parseInt(sizeText, 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    this.entryName = this.longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    this.longName = null;
    this.bodyLeft = size;
    this.paddingLeft = (512 - (size % 512)) % 512;
    this.capture = type === 'L' ? 'longName' : (type === '0' || type === '' || type === '\0') && this.match(this.entryName) ? 'entry' : null;
    this.captured = [];
    this.capturedLength = 0;
    if (size === 0) this.finishEntry();
  }

  private finishEntry(): void {
    if (this.capture === 'entry') {
      this.found = Buffer.concat(this.captured);
      this.settled = true;
    } else if (this.capture === 'longName') {
      this.longName = Buffer.concat(this.captured).toString('utf8').replace(/\0+$/, '');
    }
    this.capture = null;
    this.captured = [];
  }
}

/** The bytes of the first regular file whose path `match` accepts, or null if none (a whole tarball at hand). */
export async function readTgzEntry(tgz: Uint8Array, match: (path: string) => boolean, maxEntryBytes = 4 * 1024 * 1024): Promise<Buffer | null> {
  const reader = new TgzEntryReader(match, maxEntryBytes);
  await reader.write(tgz);
  return reader.end();
}
