/**
 * Long loops of synchronous work on the event loop (a chain walk, Cedar over every repository) give
 * other requests a turn every few milliseconds: `await slices.due()` in the loop yields (setImmediate)
 * once `sliceMs` has passed since the last turn, and costs a clock read otherwise.
 */
export interface TimeSlices {
  /** Resolves at once, or after a turn of the event loop when the slice is used up. */
  due(): Promise<void> | undefined;
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

export function timeSlices(sliceMs: number): TimeSlices {
  let started = performance.now();
  return {
    due() {
      if (performance.now() - started <= sliceMs) return undefined;
      return turn().then(() => {
        started = performance.now();
      });
    },
  };
}
