/**
 * The aws CLI's pagination rules, on pages from a fake listing: the same inputs give what
 * botocore's PageIterator gives, NextToken included, character for character.
 */
import { describe, expect, it } from 'vitest';
import { decodeStartingToken, encodeResumeToken, paginate, type Page } from '../../src/cli/client/paginate.ts';

/** A server listing 0…n-1 in pages of `serverPage` (or the page size asked for), tokens "t<offset>". */
function listing(n: number, serverPage = 3) {
  const calls: Array<{ nextToken: string | undefined; pageSize: number | undefined }> = [];
  const fetchPage = async (nextToken: string | undefined, pageSize: number | undefined): Promise<Page> => {
    calls.push({ nextToken, pageSize });
    const start = nextToken ? Number(nextToken.slice(1)) : 0;
    const end = Math.min(n, start + (pageSize ?? serverPage));
    const versions = Array.from({ length: end - start }, (_, i) => ({ version: `${start + i}` }));
    return { format: 'npm', package: 'chalk', defaultDisplayVersion: '9', versions, ...(end < n ? { nextToken: `t${end}` } : {}) };
  };
  return { fetchPage, calls };
}
const config = { resultKey: 'versions', nonAggregateKeys: ['defaultDisplayVersion', 'format', 'package', 'namespace'] };
const v = (...ns: number[]) => ns.map((n) => ({ version: `${n}` }));
/** What Python's base64.b64encode(json.dumps(token)) gives. */
const py = (json: string) => Buffer.from(json).toString('base64');

describe('paginate, as botocore does it', () => {
  it('follows every page; the list comes first, then the first page\'s other members (null when absent)', async () => {
    const { fetchPage, calls } = listing(7);
    const result = await paginate(fetchPage, config, {});
    expect(JSON.stringify(result)).toBe(JSON.stringify({ versions: v(0, 1, 2, 3, 4, 5, 6), defaultDisplayVersion: '9', format: 'npm', package: 'chalk', namespace: null }));
    expect(calls).toEqual([
      { nextToken: undefined, pageSize: undefined },
      { nextToken: 't3', pageSize: undefined },
      { nextToken: 't6', pageSize: undefined },
    ]);
  });

  it('--page-size sets maxResults on every call and still fetches everything', async () => {
    const { fetchPage, calls } = listing(5);
    const result = await paginate(fetchPage, config, { pageSize: 2 });
    expect(result.versions).toEqual(v(0, 1, 2, 3, 4));
    expect(calls.map((c) => c.pageSize)).toEqual([2, 2, 2]);
  });

  it('--max-items inside a page: the token names the page and how much of it was printed', async () => {
    const { fetchPage } = listing(7);
    const first = await paginate(fetchPage, config, { maxItems: 2 });
    expect(first.versions).toEqual(v(0, 1));
    expect(first.NextToken).toBe(py('{"nextToken": null, "boto_truncate_amount": 2}'));
    expect(Object.keys(first)).toEqual(['versions', 'defaultDisplayVersion', 'format', 'package', 'namespace', 'NextToken']);

    const second = await paginate(fetchPage, config, { maxItems: 3, startingToken: first.NextToken as string });
    expect(second.versions).toEqual(v(2, 3, 4));
    expect(second.NextToken).toBe(py('{"nextToken": "t3", "boto_truncate_amount": 2}'));

    const rest = await paginate(fetchPage, config, { startingToken: second.NextToken as string });
    expect(rest.versions).toEqual(v(5, 6));
    expect(rest.NextToken).toBeUndefined();
  });

  it('--max-items on a page boundary: the token is the server\'s next token alone', async () => {
    const { fetchPage } = listing(7);
    const r = await paginate(fetchPage, config, { maxItems: 3 });
    expect(r.versions).toEqual(v(0, 1, 2));
    expect(r.NextToken).toBe(py('{"nextToken": "t3"}'));
    // …and at the very end there is nothing to resume.
    const all = await paginate(fetchPage, config, { maxItems: 7 });
    expect(all.versions).toHaveLength(7);
    expect(all.NextToken).toBeUndefined();
  });

  it('a server that repeats its token is an error, not an endless loop', async () => {
    const fetchPage = async (): Promise<Page> => ({ versions: [{ version: '1' }], nextToken: 'same' });
    await expect(paginate(fetchPage, config, {})).rejects.toThrow('the same next token was received twice: same');
  });

  it('tokens round-trip, and anything else is refused', () => {
    expect(encodeResumeToken({ nextToken: 'a/b+c=', boto_truncate_amount: 4 })).toBe(py('{"nextToken": "a/b+c=", "boto_truncate_amount": 4}'));
    expect(encodeResumeToken({ nextToken: 'é' })).toBe(py('{"nextToken": "\\u00e9"}'));
    expect(decodeStartingToken(py('{"nextToken": "x", "boto_truncate_amount": 4}'))).toEqual({ nextToken: 'x', boto_truncate_amount: 4 });
    for (const bad of ['not base64 json', py('[1]'), py('{"nextToken": 5}'), py('{"boto_truncate_amount": -1}'), py('{"other": 1}')]) {
      expect(() => decodeStartingToken(bad)).toThrow(`--starting-token: bad starting token: ${bad}`);
    }
  });
});
