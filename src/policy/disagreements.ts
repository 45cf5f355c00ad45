/**
 * Shadow disagreements grouped as `versiongate policy diff` prints them and the console's playground
 * shows them: one row per action, live answer and candidate answer, with how many requests, over what
 * time and on which resources. One grouping for both, whatever order the records come in.
 */

export interface DisagreementRow {
  action: string;
  live: string;
  candidate: string;
  count: number;
  first: string;
  last: string;
  resources: Set<string>;
}

/** The fields of an audit record the grouping reads (a stored record, or one from GET /v1/audit). */
export interface DisagreementRecord {
  outcome: string;
  action: string;
  decision: string;
  determiningPolicies: readonly string[];
  reason?: string | null | undefined;
  resource?: string | null | undefined;
  time: string;
  request: unknown;
}

/** Adds a shadow disagreement to its row; any other record is left out. */
export function addDisagreement(rows: Map<string, DisagreementRow>, r: DisagreementRecord): void {
  if (r.outcome !== 'shadow_disagreement') return;
  const live = (r.request as { live?: { decision: string; determiningPolicies: string[] } } | null)?.live;
  const liveText = `${live?.decision ?? '?'}${live?.determiningPolicies.length ? ` (${live.determiningPolicies.join(', ')})` : ''}`;
  const candidateText = `${r.decision}${r.determiningPolicies.length ? ` (${r.determiningPolicies.join(', ')})` : r.reason ? ` (${r.reason})` : ''}`;
  const key = `${r.action}\n${liveText}\n${candidateText}`;
  const row = rows.get(key) ?? { action: r.action, live: liveText, candidate: candidateText, count: 0, first: r.time, last: r.time, resources: new Set<string>() };
  row.count++;
  if (r.time < row.first) row.first = r.time;
  if (r.time > row.last) row.last = r.time;
  if (r.resource) row.resources.add(r.resource);
  rows.set(key, row);
}

/** The rows, most requests first. */
export function sortedDisagreements(rows: Map<string, DisagreementRow>): DisagreementRow[] {
  return [...rows.values()].sort((a, b) => b.count - a.count);
}
