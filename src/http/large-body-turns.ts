/**
 * Large JSON bodies are parsed and checked one per turn of the event loop. A body near the 1 MiB
 * limit costs its request ~20 ms of synchronous work before its handler runs (JSON.parse, the
 * repeated-key scan, zod over a thousand objects); sixteen arriving together ran back to back and held
 * every other request (a health probe waited 343 ms). Queued here, each waits for the one before it
 * and then for a fresh turn (setImmediate scheduled after that one is done runs in the loop's next
 * iteration), so the sockets are served between two of them. Small bodies, nearly all, never wait.
 */

/** Bodies this long or longer take their turn (a request's own body is a few KiB). */
export const LARGE_BODY_CHARS = 64 * 1024;

let tail: Promise<void> = Promise.resolve();

/** Resolves when it is this body's turn, with the function that ends the turn (call it once done). */
export function largeBodyTurn(): Promise<() => void> {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const ready = tail.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  tail = ready.then(() => done);
  return ready.then(() => release);
}
