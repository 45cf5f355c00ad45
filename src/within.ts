/**
 * `answer`, unless `ms` pass first: then undefined, and the answer, when it comes, is dropped. For
 * waits that must end whatever the other side does (a probe of a database that may hang, a shutdown's
 * grace). An answer already settled wins over a time already past (a shutdown grace of 0 with nothing
 * in flight is on time). The timer is cleared either way, so it never holds the process open.
 */
export async function within<T>(ms: number, answer: Promise<T>): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([answer, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), Math.max(0, ms))))]);
  } finally {
    clearTimeout(timer);
  }
}
