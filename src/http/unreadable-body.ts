/**
 * A JSON body that could not be read to its end: the client closed its connection mid-body, or broke
 * the body's framing. Nothing was done, and nobody is left to answer; what matters is what the
 * gateway says of it: a client's 400 in the request log and the metrics, not a 500 and an "internal
 * error" with a stack trace, which would page an operator for every client that hangs up. (An
 * asset's upload says the same through BlobSourceError, store/blob-store.ts.)
 */
import { ValidationError } from '../errors.ts';

export function unreadableBody(err: unknown): ValidationError {
  const why = err instanceof Error ? err.message : String(err);
  return new ValidationError(`the request body could not be read (${why}): nothing was done`, 'CANNOT_PARSE');
}
