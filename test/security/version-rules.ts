/**
 * The reference model of package version statuses, written from the seed document (/work/shared/seeds,
 * "Atualizar o status da versão do pacote") rather than from src/registry, so the gateway is checked
 * against the rules as CodeArtifact documents them. Shared by the model-based and the race tests.
 */
export type Status = 'Published' | 'Unlisted' | 'Archived' | 'Disposed';

export interface Model {
  /** Present versions only; a deleted version is absent. */
  versions: Map<string, { status: Status; revision: string }>;
  /** Revisions a version once had and no longer has. */
  stale: Map<string, string>;
}


/** The reference: which versions fail with which code, from the seed document's rules. */
export function expectedFailures(m: Model, versions: string[], kind: 'update' | 'dispose' | 'delete', target: Status | undefined, expectedStatus: Status | undefined, revisions: Record<string, string>): Record<string, string> {
  const failed: Record<string, string> = {};
  for (const v of versions) {
    const state = m.versions.get(v);
    if (!state) failed[v] = 'NOT_FOUND';
    else if (revisions[v] !== undefined && revisions[v] !== state.revision) failed[v] = 'MISMATCHED_REVISION';
    else if (expectedStatus !== undefined && expectedStatus !== state.status) failed[v] = 'MISMATCHED_STATUS';
    else if (kind === 'update' && state.status === 'Disposed' && target !== 'Disposed') failed[v] = 'NOT_ALLOWED';
  }
  if (Object.keys(failed).length > 0) for (const v of versions) failed[v] ??= 'SKIPPED';
  return failed;
}

