/**
 * The manifest worker: reads a synced version's manifest (package.json, pom) into its metadata on a
 * thread of its own (manifest-thread.ts). A manifest is whatever a publisher uploaded, up to 4 MiB,
 * and parsing one can take seconds (a pom of a million empty elements: ~2 s); on the event loop that
 * held every request of the gateway for as long.
 */
import { parentPort } from 'node:worker_threads';
import { extractMetadata, ManifestError } from './metadata.ts';
import type { ManifestAnswer, ManifestJob } from './manifest-thread.ts';

/** A Buffer travels to a thread as a plain Uint8Array: make it a Buffer again (no copy). */
const asBuffer = (bytes: Uint8Array | null | undefined) => (bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) : bytes);

function answer(job: ManifestJob): ManifestAnswer {
  try {
    const reads = job.reads.map((r) => ({ ...r, manifest: asBuffer(r.manifest) ?? null, readme: asBuffer(r.readme) }));
    return { id: job.id, metadata: extractMetadata(job.key, job.version, reads) };
  } catch (err) {
    return err instanceof ManifestError ? { id: job.id, manifestError: err.message } : { id: job.id, error: (err as Error).message };
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: ManifestJob) => port.postMessage(answer(job)));
  port.postMessage({ ready: true } satisfies ManifestAnswer);
}
