/**
 * Everything the server needs beyond its store, in one module that startGateway imports only after
 * it has started opening the store: the store's writer thread then boots on another core while
 * this thread loads these (hono, zod-openapi, cedar-wasm, prom-client, jose…), instead of after.
 */
export { getRequestListener } from '@hono/node-server';
export { collectDefaultMetrics } from 'prom-client';
export { createApp } from './app.ts';
export { loadOrCreateDevKey } from './auth/dev-key.ts';
export { AUTH_FAILURE_WINDOW_MS, AuthFailureLimiter } from './auth/failure-limiter.ts';
export { keySourceFor } from './auth/key-source.ts';
export { createTokenVerifier } from './auth/verify-token.ts';
export { answerClientErrors } from './http/ops-client-errors.ts';
export { createMetricsApp } from './http/ops-metrics.ts';
export { REFUSAL_DRAIN_MS, serveRefusalsReadably } from './http/refuse-unread-body.ts';
export { createMetrics } from './metrics/metrics.ts';
export { removeBlobs } from './operations/change-versions.ts';
export { startBlobSweep } from './operations/blob-sweep.ts';
export { policyLoadRecord, shadowRecord } from './audit/build-record.ts';
export { CHECKED_SET_FILE } from './policy/checked-set-cache.ts';
export { PolicyManager } from './policy/policy-manager.ts';
export { RejectionLog } from './audit/rejection-log.ts';
export { instrumentStore } from './metrics/instrument-store.ts';
export { createSyncWorker } from './sync/sync-worker.ts';
