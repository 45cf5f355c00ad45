/** Thrown inside a write transaction to roll it back; the commit methods turn it into a `stale` result. */
export class StaleRead extends Error {
  constructor(readonly versions: string[]) {
    super('stale read');
  }
}
