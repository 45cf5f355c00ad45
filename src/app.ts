/**
 * createApp(deps): the Hono app with every route mounted and one error handler.
 * The single composition point for HTTP: tests build it on a temporary database.
 */
import type { Socket } from 'node:net';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { KeySource } from './auth/key-source.ts';
import type { TokenVerifier } from './auth/verify-token.ts';
import { ApiError, InternalError, PayloadTooLargeError, ValidationError, WriteOutcomeUnknownError } from './errors.ts';
import { DEFAULT_REJECTION_WINDOW_MS, RejectionLog } from './audit/rejection-log.ts';
import type { AppEnv } from './http/app-env.ts';
import { auditApi } from './http/audit-api.ts';
import type { AuthFailureLimiter } from './auth/failure-limiter.ts';
import { createAuthenticate } from './http/authenticate.ts';
import { cloudsmithError, isCloudsmithPath, resyncApi } from './http/resync-api.ts';
import { codeArtifactError, fromHttpException, UnknownOperationError } from './http/error-envelope.ts';
import { declaredLength } from './http/declared-length.ts';
import { unreadableBody } from './http/unreadable-body.ts';
import { docsApi } from './http/ops-docs.ts';
import { refuseBeforeReading } from './http/ops-gate.ts';
import { healthApi } from './http/ops-health.ts';
import { policyApi } from './http/policy-api.ts';
import { metricsApi } from './http/ops-metrics.ts';
import { GatewayApp } from './http/openapi-app.ts';
import { requestContext } from './http/request-context.ts';
import { packageApi } from './http/package-api.ts';
import { packagesApi } from './http/packages-api.ts';
import { PUBLISH_PATH, publishApi } from './http/publish-api.ts';
import { versionApi } from './http/version-api.ts';
import { copyApi } from './http/copy-api.ts';
import { tenancyApi } from './http/tenancy-api.ts';
import { createLifecycle, type Lifecycle } from './lifecycle.ts';
import { auditVerifyApi } from './http/audit-verify-api.ts';
import { policyCheckApi } from './http/policy-check-api.ts';
import { createCandidateRunner, type CandidateRunner } from './policy/candidate-off-thread.ts';
import { consoleApp, type ConsoleSettings } from './console/console-app.tsx';
import { instrumentAuthorizer, instrumentVerifier } from './metrics/instrument-auth.ts';
import { instrumentStore } from './metrics/instrument-store.ts';
import { createMetrics, type Metrics } from './metrics/metrics.ts';
import { DEFAULT_ACCOUNT_ID, DEFAULT_MAX_ASSET_BYTES } from './config.ts';
import type { OperationDeps, PackageApiDeps } from './operations/deps.ts';
import { createPageTokens } from './operations/page-token.ts';
import type { PolicyStatus } from './policy/policy-manager.ts';
import { createReadiness } from './readiness.ts';

/** JSON request bodies are small (at most 100 versions and their revisions). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;
/** A change that has not started committing this long after its request arrived is not made (503). */
export const DEFAULT_REQUEST_DEADLINE_MS = 30_000;

export interface AppDeps extends Omit<OperationDeps, 'accountId'> {
  verifier: TokenVerifier;
  /** This app's metrics; by default a registry of its own. */
  metrics?: Metrics | undefined;
  /** Starting / serving / stopping, shared with the server that runs the app; by default serving. */
  lifecycle?: Lifecycle | undefined;
  /** The token key source, for the readiness check; without it /readyz does not report keys. */
  keySource?: KeySource | undefined;
  requestDeadlineMs?: number | undefined;
  /** Serve GET /metrics on this app (default true; false when off or on a listener of its own). */
  serveMetrics?: boolean | undefined;
  /** The token claim holding groups, for principals given as claims to the test bench. */
  groupsClaim?: string | undefined;
  /** The live set's status for GET /v1/policies (the policy manager's); by default just the set. */
  policyStatus?: (() => PolicyStatus) | undefined;
  /** Runs the policy bench's work on supplied sets in worker threads; by default one of its own, at most MAX_CANDIDATE_WORKERS at once. */
  candidates?: CandidateRunner | undefined;
  /** The largest asset PublishPackageVersion accepts (VERSIONGATE_MAX_ASSET_SIZE); 1 GiB by default. */
  maxAssetBytes?: number | undefined;
  /**
   * Audits refused tokens (rejection-log.ts); by default one of the app's own with the default window,
   * which nothing closes (the server passes its own and closes it before the store).
   */
  rejections?: RejectionLog | undefined;
  /** Caps refused tokens per source address (VERSIONGATE_AUTH_FAILURE_LIMIT); none: no cap. */
  authFailures?: AuthFailureLimiter | undefined;
  /** The account that owns the domains CreateDomain creates (VERSIONGATE_ACCOUNT_ID). */
  accountId?: string | undefined;
  /** The policy folder, for GET /v1/policies/source (the playground's starting point). */
  policyDir?: string | undefined;
  /** The web console's settings (/console/); by default served without development hints or an identity provider. */
  console?: ConsoleSettings | undefined;
  /** Whether a request's connection was accepted past the connection cap (connection-cap.ts): answered 503. */
  connectionRoom?: ((socket: Socket) => boolean) | undefined;
}

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new GatewayApp<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return undefined;
      // A parameter given twice reaches the schema as a list, which would be reported as the wrong
      // type ("expected number, received NaN"); say what the request did instead.
      if (result.target === 'query') {
        const repeated = Object.entries(c.req.queries()).find(([, values]) => values.length > 1)?.[0];
        if (repeated !== undefined) throw new ValidationError(`query parameter ${repeated} is given more than once`, 'FIELD_VALIDATION_FAILED');
      }
      throw new ValidationError(describeIssues(result.target, result.error.issues), 'FIELD_VALIDATION_FAILED', fieldErrorsOf(result.error.issues));
    },
  });

  // The scrape counts sync jobs on the undecorated store, so it does not show up as store traffic.
  const metrics = deps.metrics ?? createMetrics({ livePolicySet: () => deps.authorizer().policySet, syncJobCounts: () => deps.store.countSyncJobs() });
  const lifecycle = deps.lifecycle ?? createLifecycle('serving');
  // The decorators observe the store, Cedar and the token verifier for the metrics; operations
  // receive them in place of the originals and never know the difference.
  const ops: OperationDeps = {
    store: instrumentStore(deps.store, metrics),
    blobs: deps.blobs,
    authorizer: instrumentAuthorizer(deps.authorizer, metrics),
    clock: deps.clock,
    region: deps.region,
    accountId: deps.accountId ?? DEFAULT_ACCOUNT_ID,
    logger: deps.logger,
    syncScheduled: deps.syncScheduled,
  };
  const packageOps: PackageApiDeps = { ...ops, pageTokens: createPageTokens(ops.store), maxAssetBytes: deps.maxAssetBytes ?? DEFAULT_MAX_ASSET_BYTES };
  const verifier = instrumentVerifier(deps.verifier, metrics);
  // Readiness asks the undecorated store, so probes do not show up as store traffic.
  const readiness = createReadiness({ lifecycle, store: deps.store, authorizer: deps.authorizer, keySource: deps.keySource, logger: deps.logger });

  app.use(requestContext({ logger: deps.logger, metrics, lifecycle, deadlineMs: deps.requestDeadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS }));
  app.use(refuseBeforeReading(lifecycle, deps.connectionRoom));
  const jsonBodyLimit = bodyLimit({
    maxSize: MAX_JSON_BODY_BYTES,
    onError: () => {
      throw new PayloadTooLargeError(`the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`);
    },
  });
  // An asset upload is not JSON: it streams to disk under a bound of its own (maxAssetBytes).
  app.use(async function limitJsonBodies(c, next) {
    if (c.req.path === PUBLISH_PATH) return next();
    // Checked before the body is touched: hono's bodyLimit opens the body stream first, and the first
    // read of a body sends 100 Continue to a client that asked for it (refuse-unread-body.ts).
    const declared = declaredLength(c);
    if ((declared ?? 0) > MAX_JSON_BODY_BYTES) {
      throw new PayloadTooLargeError(`the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`);
    }
    // A declared length is all there is (Node's parser delivers no byte past it), so only a chunked
    // body needs counting as it streams. hono's bodyLimit would also make @hono/node-server build a
    // whole fetch Request (stream, abort signal) for every request it looks at.
    if (declared !== undefined) return next();
    // From the socket, neither Content-Length nor Transfer-Encoding means no body at all (RFC 9112
    // §6.3), as a ListPackageVersions POST usually has: nothing to count, and no fetch Request to build.
    // (A Request made in process, by the console or app.request(), may carry a body without either.)
    if (fromSocket(c) && c.req.header('transfer-encoding') === undefined) return next();
    // hono's compose answers a later handler's error at that handler's level, so what comes out of
    // here is bodyLimit's own: its refusal (413), or the chunked body's read failing.
    try {
      return await jsonBodyLimit(c, next);
    } catch (err) {
      throw err instanceof ApiError ? err : unreadableBody(err);
    }
  });

  // Every API route is authenticated by one middleware; each handler binds the result to its action.
  const rejections = deps.rejections ?? new RejectionLog({ append: (r) => ops.store.appendAudit(r), windowMs: DEFAULT_REJECTION_WINDOW_MS, onError: (err) => deps.logger.error('could not record refused tokens', { err }) });
  app.use('/v1/*', createAuthenticate({ verifier, rejections, clock: deps.clock, failures: deps.authFailures }));
  healthApi(readiness, app);
  if (deps.serveMetrics !== false) metricsApi(metrics, app);
  versionApi(ops, app);
  packageApi(packageOps, app);
  publishApi(packageOps, app);
  packagesApi(packageOps, app); // DescribePackage, ListPackages, DeletePackage, PutPackageOriginConfiguration, readme, dependencies
  resyncApi(ops, app);
  tenancyApi(packageOps, app);
  auditApi(ops, app);
  copyApi(ops, app);
  const candidates = deps.candidates ?? createCandidateRunner(deps.logger);
  policyApi({ ...ops, verifier, groupsClaim: deps.groupsClaim ?? 'groups', policyStatus: deps.policyStatus, candidates }, app);
  auditVerifyApi(ops, app);
  policyCheckApi({ ...ops, policyDir: deps.policyDir, groupsClaim: deps.groupsClaim ?? 'groups', candidates }, app);
  // The console calls this app's own routes in-process, through the same gate as any client.
  app.get('/console/', (c) => c.redirect('/console/overview', 303));
  app.route('/console', consoleApp({ ...deps.console, fetch: (request, env) => app.fetch(request, env), now: () => deps.clock.now().getTime(), logger: deps.logger }));
  docsApi(app); // last: the OpenAPI document describes every route mounted before it

  app.notFound((c) => {
    const err = new UnknownOperationError(`no operation at ${c.req.method} ${c.req.path}`);
    // Under Cloudsmith's paths a client reads Cloudsmith's body: an unknown route there is its 404.
    return isCloudsmithPath(c.req.path) ? cloudsmithError(err, c.get('requestId')) : codeArtifactError(err, c.get('requestId'));
  });
  app.onError((err, c) => {
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else if (err instanceof HTTPException) apiError = fromHttpException(err);
    else apiError = new InternalError({ cause: err });
    if (apiError instanceof InternalError) {
      // The client gets a fixed message; the cause goes to the log only.
      deps.logger.error('internal error', { requestId: c.get('requestId'), err: (apiError.cause as Error) ?? err });
    } else if (apiError instanceof WriteOutcomeUnknownError) {
      // Rare, and an operator's to look into: a database connection or a disk that failed as a write
      // committed, or a writer thread that stopped. The client was told to read before retrying.
      deps.logger.error('a write may or may not have been made', { requestId: c.get('requestId'), err: (apiError.cause as Error) ?? apiError });
    }
    if (isCloudsmithPath(c.req.path)) return cloudsmithError(apiError, c.get('requestId'));
    return codeArtifactError(apiError, c.get('requestId'));
  });
  return app;
}

/**
 * Whether the request is the one @hono/node-server read from a socket (its env holds the message and
 * the response). The console's in-process calls pass on the browser's message, for its address, but
 * have no response of their own; app.request() in tests has neither.
 */
function fromSocket(c: Context<AppEnv>): boolean {
  const env = c.env as { incoming?: unknown; outgoing?: unknown } | undefined;
  return env?.incoming !== undefined && env.outgoing !== undefined;
}

/** The issues by the input's top-level field (unknown fields by their own names), as Django REST framework reports them; the rest under `non_field_errors`. */
function fieldErrorsOf(issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string; keys?: string[] }>): Record<string, string[]> {
  const byField: Record<string, string[]> = Object.create(null);
  const add = (field: string, message: string) => (byField[field] ??= []).push(message);
  for (const i of issues.slice(0, 20)) {
    if (i.code === 'unrecognized_keys' && i.keys) for (const key of i.keys.slice(0, 20)) add(key.slice(0, 64), 'This field is not accepted.');
    else add(i.path.length > 0 ? String(i.path[0]).slice(0, 64) : 'non_field_errors', i.message);
  }
  return byField;
}

function describeIssues(target: string, issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string; keys?: string[] }>): string {
  const parts = issues.slice(0, 5).map((i) => {
    const path = i.path.map(String).join('.');
    // Inside the body, where: `questions.0` (the first question), not the body as a whole.
    if (i.code === 'unrecognized_keys' && i.keys) return `unknown field(s) in ${path ? path : `the ${target === 'json' ? 'body' : target}`}: ${i.keys.join(', ')}`;
    const where = path || (target === 'json' ? 'body' : target);
    return `${where}: ${i.message}`;
  });
  return `${issues.length} validation error(s) detected: ${parts.join('; ')}`;
}
