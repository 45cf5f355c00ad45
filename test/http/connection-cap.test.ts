import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionCapFor, MIN_CONNECTIONS, openFileLimit, RESERVED_FILES } from '../../src/http/connection-cap.ts';

const dir = mkdtempSync(join(tmpdir(), 'vg-limits-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function limitsFile(maxOpenFiles: string): string {
  const file = join(dir, `limits-${maxOpenFiles}`);
  writeFileSync(
    file,
    [
      'Limit                     Soft Limit           Hard Limit           Units     ',
      'Max cpu time              unlimited            unlimited            seconds   ',
      `Max open files            ${maxOpenFiles.padEnd(20)} 1048576              files     `,
      'Max processes             95576                95576                processes ',
      '',
    ].join('\n'),
  );
  return file;
}

describe('the connection cap', () => {
  it("reads the process's open-file limit (the soft one, which Node raises to the hard one as it starts)", () => {
    expect(openFileLimit(limitsFile('20000'))).toBe(20000);
    expect(openFileLimit(limitsFile('unlimited'))).toBeUndefined();
    expect(openFileLimit(join(dir, 'none'))).toBeUndefined();
    // This process's own (Linux): a number Node has already raised.
    expect(openFileLimit()).toBeGreaterThan(0);
  });

  it('leaves the reserve for the gateway and one asset file per connection', () => {
    expect(connectionCapFor(20000)).toBe((20000 - RESERVED_FILES) / 2);
    expect(connectionCapFor(1024)).toBe(384);
    expect(connectionCapFor(100)).toBe(MIN_CONNECTIONS);
    expect(connectionCapFor(undefined)).toBeUndefined();
  });
});
