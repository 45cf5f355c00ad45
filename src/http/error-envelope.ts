/**
 * CodeArtifact's REST-JSON error envelope: the status code, an `x-amzn-ErrorType` header naming the
 * error type (the AWS SDK branches on it), and a JSON body with `message` plus the type's members.
 */
import { HTTPException } from 'hono/http-exception';
import {
  ApiError,
  InternalError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
  ValidationError,
} from '../errors.ts';

export function codeArtifactError(err: ApiError, requestId: string): Response {
  return new Response(JSON.stringify({ message: err.message, ...err.fields() }), {
    status: err.status,
    headers: {
      'content-type': 'application/json',
      'x-amzn-errortype': err.type,
      'x-amzn-requestid': requestId,
      ...err.headers(),
    },
  });
}

/** hono and its validators throw HTTPException for malformed bodies and media types. */
export function fromHttpException(e: HTTPException): ApiError {
  switch (e.status) {
    case 400:
      return new ValidationError(`the request body is not valid JSON: ${e.message}`, 'CANNOT_PARSE');
    case 413:
      return new PayloadTooLargeError(e.message || 'the request body is too large');
    case 415:
      return new UnsupportedMediaTypeError('the request body must be JSON (Content-Type: application/json)');
    default:
      return new InternalError({ cause: e });
  }
}

export class UnknownOperationError extends ApiError {
  readonly status = 404;
  readonly type = 'UnknownOperationException';
  override fields() {
    return { reason: 'UNKNOWN_OPERATION' };
  }
}
