/**
 * createApp(deps): the Hono app with every route mounted and one error handler.
 * The single composition point for HTTP: tests build it on a temporary database.
 */
import { OpenAPIHono } from '@hono/zod-openapi';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { TokenVerifier } from './auth/verify-token.ts';
import { ApiError, InternalError, PayloadTooLargeError, ValidationError } from './errors.ts';
import type { AppEnv } from './http/app-env.ts';
import { auditApi } from './http/audit-api.ts';
import { createAuthenticate } from './http/authenticate.ts';
import { codeArtifactError, fromHttpException, UnknownOperationError } from './http/error-envelope.ts';
import { requestContext } from './http/request-context.ts';
import { versionApi } from './http/version-api.ts';
import type { OperationDeps } from './operations/deps.ts';

/** JSON request bodies are small (at most 100 versions and their revisions). */
export const MAX_JSON_BODY_BYTES = 1024 * 1024;

export interface AppDeps extends OperationDeps {
  verifier: TokenVerifier;
}

export function createApp(deps: AppDeps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: (result) => {
      if (!result.success) throw new ValidationError(describeIssues(result.target, result.error.issues), 'FIELD_VALIDATION_FAILED');
      return undefined;
    },
  });

  app.use(requestContext(deps.logger));
  app.use(
    bodyLimit({
      maxSize: MAX_JSON_BODY_BYTES,
      onError: () => {
        throw new PayloadTooLargeError(`the request body is larger than ${MAX_JSON_BODY_BYTES} bytes`);
      },
    }),
  );

  const authenticate = createAuthenticate({ verifier: deps.verifier, store: deps.store, clock: deps.clock });
  app.get('/healthz', (c) => c.json({ status: 'ok' }));
  versionApi(deps, authenticate, app);
  auditApi(deps, authenticate, app);

  app.notFound((c) => codeArtifactError(new UnknownOperationError(`no operation at ${c.req.method} ${c.req.path}`), c.get('requestId')));
  app.onError((err, c) => {
    let apiError: ApiError;
    if (err instanceof ApiError) apiError = err;
    else if (err instanceof HTTPException) apiError = fromHttpException(err);
    else apiError = new InternalError({ cause: err });
    if (apiError instanceof InternalError) {
      // The client gets a fixed message; the cause goes to the log only.
      deps.logger.error('internal error', { requestId: c.get('requestId'), err: (apiError.cause as Error) ?? err });
    }
    return codeArtifactError(apiError, c.get('requestId'));
  });
  return app;
}

function describeIssues(target: string, issues: ReadonlyArray<{ path: PropertyKey[]; message: string; code?: string; keys?: string[] }>): string {
  const parts = issues.slice(0, 5).map((i) => {
    const path = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys' && i.keys) return `unknown field(s) in the ${target === 'json' ? 'body' : target}: ${i.keys.join(', ')}`;
    const where = path || (target === 'json' ? 'body' : target);
    return `${where}: ${i.message}`;
  });
  return `${issues.length} validation error(s) detected: ${parts.join('; ')}`;
}
