/**
 * Just enough of the Prometheus text format to compare two scrapes of GET /metrics: samples with
 * their labels, summed or grouped by label, before versus after a run.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const LINE = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? '').matchAll(LABEL)) labels[key!] = value!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return samples;
}

const matches = (s: Sample, name: string, where: Record<string, string>) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v);

/** The sum of every series of `name` whose labels include `where`; undefined when there is none. */
export function total(samples: readonly Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  let sum: number | undefined;
  for (const s of samples) if (matches(s, name, where)) sum = (sum ?? 0) + s.value;
  return sum;
}

/** How much `name` grew from one scrape to the next; undefined when the metric does not exist. */
export function growth(before: readonly Sample[], after: readonly Sample[], name: string, where: Record<string, string> = {}): number | undefined {
  const end = total(after, name, where);
  return end === undefined ? undefined : end - (total(before, name, where) ?? 0);
}

/** Growth of `name` per combination of the labels `by`, largest first; series that did not grow are left out. */
export function growthBy(before: readonly Sample[], after: readonly Sample[], name: string, by: readonly string[]): Array<{ key: string; value: number }> {
  const keyOf = (s: Sample) => by.map((l) => `${l}=${s.labels[l] ?? ''}`).join(' ');
  const sums = new Map<string, number>();
  for (const s of after) if (s.name === name) sums.set(keyOf(s), (sums.get(keyOf(s)) ?? 0) + s.value);
  for (const s of before) if (s.name === name && sums.has(keyOf(s))) sums.set(keyOf(s), sums.get(keyOf(s))! - s.value);
  return [...sums].filter(([, v]) => v > 0).map(([key, value]) => ({ key, value })).sort((a, b) => b.value - a.value);
}
