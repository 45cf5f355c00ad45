/**
 * "Did you mean …?" for a mistyped command or option, as git answers one: a name
 * within a couple of edits of a known one (a swapped pair of letters counts as one edit), so
 * `--prot` points at `--port` and `serv` at `serve`, while a word that resembles nothing gets no
 * guess. Only a near miss is named: a wrong guess would send the user further astray than none.
 */

/** Edits (insert, delete, substitute, swap two neighbours) from a to b, given up past `limit`. */
export function editDistance(a: string, b: string, limit: number): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  // Three rows of the optimal-string-alignment table: the swap looks two rows back.
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, before[j - 2]! + 1);
      current.push(d);
      rowMin = Math.min(rowMin, d);
    }
    if (rowMin > limit) return limit + 1;
    before = previous;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known names nearest to `given`: within 2 edits, and fewer edits than half its length (so a
 * two-letter typo is not "near" every other two-letter name). Ties are all returned, in the order
 * known; none when nothing is near.
 */
export function nearest(given: string, known: Iterable<string>): string[] {
  const limit = Math.min(2, Math.ceil(given.length / 2) - 1);
  if (limit < 1) return [];
  let best = limit + 1;
  let names: string[] = [];
  for (const name of new Set(known)) {
    if (name === given) continue;
    const d = editDistance(given, name, limit);
    if (d < best) {
      best = d;
      names = [name];
    } else if (d === best && d <= limit) names.push(name);
  }
  return best <= limit ? names : [];
}

/** " (did you mean 'x'?)" or " (did you mean 'x' or 'y'?)", or nothing when no known name is near. */
export function didYouMean(given: string, known: Iterable<string>, quote: (name: string) => string = (n) => `'${n}'`): string {
  return didYouMeanOneOf(nearest(given, known), quote);
}

/** " (did you mean 'x' or 'y'?)" for names already chosen (at most three), or nothing for none. */
export function didYouMeanOneOf(candidates: readonly string[], quote: (name: string) => string = (n) => `'${n}'`): string {
  const names = candidates.slice(0, 3).map(quote);
  if (names.length === 0) return '';
  const list = names.length === 1 ? names[0] : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
  return ` (did you mean ${list}?)`;
}
