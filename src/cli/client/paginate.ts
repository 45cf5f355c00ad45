/**
 * The aws CLI's pagination (botocore's PageIterator.build_full_result), so that a list prints what
 * `aws codeartifact list-package-versions` prints:
 *
 * - by default every page is fetched and the result key's items are concatenated;
 * - `--page-size N` only sets maxResults on each call;
 * - `--max-items N` stops after N items and adds `NextToken`, which `--starting-token` resumes
 *   from. That token is the aws CLI's own: base64 of Python's json.dumps of
 *   {"nextToken": <the server's token or null>, "boto_truncate_amount": <items of that page already
 *   printed>}, the second member only when a page was cut;
 * - the members that are not the list ("non-aggregate keys" in botocore's paginator configuration
 *   for CodeArtifact) come from the first page and are printed after the list, null when absent.
 *
 * `--no-paginate`, or the raw `--next-token`/`--max-results` flags, make one call and print its
 * output as it is (the aws CLI hides those two flags on a paginated command and turns pagination
 * off when they are used).
 */
import { ClientUsageError } from './args.ts';

export interface PaginationConfig {
  /** The list member: `versions`, `assets`. */
  resultKey: string;
  /** In the order of botocore's paginators-1.sdk-extras.json for CodeArtifact. */
  nonAggregateKeys: readonly string[];
}

export interface PaginationOptions {
  startingToken?: string | undefined;
  pageSize?: number | undefined;
  maxItems?: number | undefined;
}

export type Page = Record<string, unknown> & { nextToken?: string | undefined };
/** One call; its output as the SDK returns it (an operation's output structure). */
export type FetchPage = (nextToken: string | undefined, pageSize: number | undefined) => Promise<object>;

interface ResumeToken {
  nextToken: string | null;
  boto_truncate_amount?: number;
}

export class PaginationError extends Error {}

/** The whole result as the aws CLI assembles it, before the items are put in model shape. */
export async function paginate(fetchPage: FetchPage, config: PaginationConfig, options: PaginationOptions): Promise<Record<string, unknown>> {
  let requestToken: string | null = null;
  let startingTruncation = 0;
  if (options.startingToken !== undefined) {
    const start = decodeStartingToken(options.startingToken);
    requestToken = start.nextToken;
    startingTruncation = start.boto_truncate_amount ?? 0;
  }

  let items: unknown[] | undefined;
  let nonAggregate: Record<string, unknown> = {};
  let resume: ResumeToken | undefined;
  let total = 0;
  let first = true;
  let previous: string | null = null;

  for (;;) {
    const page = (await fetchPage(requestToken ?? undefined, options.pageSize)) as Page;
    const raw = page[config.resultKey];
    let pageItems = Array.isArray(raw) ? (raw as unknown[]) : [];
    let leftTruncation = 0;
    if (first) {
      if (options.startingToken !== undefined) {
        pageItems = pageItems.slice(startingTruncation);
        leftTruncation = startingTruncation;
      }
      nonAggregate = Object.fromEntries(config.nonAggregateKeys.map((k) => [k, page[k] ?? null]));
      first = false;
    }
    // botocore sets the result key from the first page that has it, so a listing whose pages all
    // lack it prints no list at all.
    if (raw !== undefined && raw !== null) items ??= [];

    const cut = options.maxItems === undefined ? 0 : total + pageItems.length - options.maxItems;
    if (cut > 0) {
      const keep = pageItems.length - cut;
      items = [...(items ?? []), ...pageItems.slice(0, keep)];
      resume = { nextToken: requestToken, boto_truncate_amount: keep + leftTruncation };
      break;
    }
    if (items) items.push(...pageItems);
    total += pageItems.length;

    const next = page.nextToken ? page.nextToken : null;
    if (next === null) break;
    if (options.maxItems !== undefined && total === options.maxItems) {
      resume = { nextToken: next };
      break;
    }
    if (previous !== null && previous === next) throw new PaginationError(`the same next token was received twice: ${next}`);
    requestToken = next;
    previous = next;
  }

  const result: Record<string, unknown> = {};
  if (items) result[config.resultKey] = items;
  Object.assign(result, nonAggregate);
  if (resume) result.NextToken = encodeResumeToken(resume);
  return result;
}

/** base64(json.dumps(token)) with Python's default separators and ASCII escaping. */
export function encodeResumeToken(token: ResumeToken): string {
  const members = Object.entries(token).map(([k, v]) => `${pythonJsonString(k)}: ${typeof v === 'string' ? pythonJsonString(v) : v === null ? 'null' : String(v)}`);
  return Buffer.from(`{${members.join(', ')}}`, 'utf8').toString('base64');
}

function pythonJsonString(s: string): string {
  return JSON.stringify(s).replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function decodeStartingToken(token: string): ResumeToken {
  const bad = () => new ClientUsageError(`--starting-token: bad starting token: ${token}`);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as unknown;
  } catch {
    throw bad();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad();
  const { nextToken, boto_truncate_amount: amount, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw bad();
  if (nextToken !== undefined && nextToken !== null && typeof nextToken !== 'string') throw bad();
  if (amount !== undefined && (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 0)) throw bad();
  return { nextToken: typeof nextToken === 'string' && nextToken !== '' ? nextToken : null, ...(amount === undefined ? {} : { boto_truncate_amount: amount }) };
}
