/**
 * Errors that end a request. Each carries a stable `type` (the wire error type callers branch on,
 * as CodeArtifact's `x-amzn-ErrorType`), an HTTP status and the extra members of its envelope.
 * Handlers throw these; one place (http/error-envelope.ts) renders them.
 */

export type ValidationReason = 'CANNOT_PARSE' | 'FIELD_VALIDATION_FAILED' | 'UNKNOWN_OPERATION' | 'OTHER';
export type ResourceType = 'domain' | 'repository' | 'package' | 'package-version' | 'asset';

export abstract class ApiError extends Error {
  abstract readonly status: number;
  abstract readonly type: string;
  /**
   * Without a stack trace: an ApiError is an answer thrown on purpose, rendered as an envelope and
   * never logged with a stack, and capturing one through a request's async frames cost ~12 µs, a
   * visible share of every 401 and 403 under load.
   */
  constructor(message?: string, options?: ErrorOptions) {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(message, options);
    Error.stackTraceLimit = limit;
  }
  /** Extra members of the JSON body beside `message`. */
  fields(): Record<string, unknown> {
    return {};
  }
  /** Extra response headers. */
  headers(): Record<string, string> {
    return {};
  }
}

export class ValidationError extends ApiError {
  readonly status = 400;
  readonly type = 'ValidationException';
  constructor(
    message: string,
    readonly reason: ValidationReason = 'FIELD_VALIDATION_FAILED',
    /** What is wrong with each field of the input, by its name, for APIs that answer per field (Cloudsmith's `fields`). */
    readonly fieldErrors?: Record<string, string[]> | undefined,
  ) {
    super(message);
  }
  override fields() {
    return { reason: this.reason };
  }
}

/** The token is missing or cannot be verified. `code` says why, never the token itself. */
export class UnauthenticatedError extends ApiError {
  readonly status = 401;
  readonly type = 'UnauthorizedException';
  constructor(
    message: string,
    /** A stable reason: ERR_TOKEN_MISSING, or jose's code such as ERR_JWT_EXPIRED. */
    readonly code: string,
  ) {
    super(message);
  }
  override headers(): Record<string, string> {
    // RFC 6750 §3.1: a request without credentials gets no error code, a bad token gets invalid_token.
    if (this.code === 'ERR_TOKEN_MISSING') return { 'www-authenticate': 'Bearer realm="versiongate"' };
    // The message can quote the token (jose names an unknown `crit` parameter): keep the header
    // printable ASCII so an attacker-chosen byte can neither break the response nor inject a header.
    const description = this.message.replace(/[^\x20-\x7e]/g, '?').replace(/["\\]/g, "'").slice(0, 200);
    return {
      'www-authenticate': `Bearer realm="versiongate", error="invalid_token", error_description="${description}"`,
    };
  }
}

export class AccessDeniedError extends ApiError {
  readonly status = 403;
  readonly type = 'AccessDeniedException';
}

/** An error about one resource: CodeArtifact's envelope names it with resourceId and resourceType. */
abstract class ResourceError extends ApiError {
  constructor(
    message: string,
    readonly resourceType: ResourceType,
    readonly resourceId: string,
  ) {
    super(message);
  }
  override fields() {
    return { resourceId: this.resourceId, resourceType: this.resourceType };
  }
}

export class NotFoundError extends ResourceError {
  readonly status = 404;
  readonly type = 'ResourceNotFoundException';
}

export class ConflictError extends ResourceError {
  readonly status = 409;
  readonly type = 'ConflictException';
}

/** A quota would be exceeded (CodeArtifact answers 402 for these, such as assets per version). */
export class ServiceQuotaExceededError extends ResourceError {
  readonly status = 402;
  readonly type = 'ServiceQuotaExceededException';
}

export class PayloadTooLargeError extends ApiError {
  readonly status = 413;
  readonly type = 'ValidationException';
  override fields() {
    return { reason: 'OTHER' };
  }
}

export class UnsupportedMediaTypeError extends ApiError {
  readonly status = 415;
  readonly type = 'ValidationException';
  override fields() {
    return { reason: 'CANNOT_PARSE' };
  }
}

/** A dependency (the identity provider's key set) cannot be reached: retry later, never trust. */
export class ServiceUnavailableError extends ApiError {
  readonly status = 503;
  readonly type = 'ServiceUnavailableException';
  override headers(): Record<string, string> {
    return { 'retry-after': '5' };
  }
}

/**
 * A write whose commit may or may not have happened (its database connection broke as it committed,
 * and the database could not be asked): the client must read before retrying, and nothing may record
 * the write as failed.
 */
export class WriteOutcomeUnknownError extends ServiceUnavailableError {}

/** Too many refused tokens from one source (auth/failure-limiter.ts): try again after Retry-After. */
export class ThrottlingError extends ApiError {
  readonly status = 429;
  readonly type = 'ThrottlingException';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
  override fields() {
    return { retryAfterSeconds: this.retryAfterSeconds };
  }
  override headers(): Record<string, string> {
    return { 'retry-after': String(this.retryAfterSeconds) };
  }
}

/** Anything unexpected. The message is fixed so nothing internal leaks; the cause is logged. */
export class InternalError extends ApiError {
  readonly status = 500;
  readonly type = 'InternalServerException';
  constructor(options?: { cause?: unknown }) {
    super('An internal error occurred. The request was not applied.', options);
  }
}

/** A setting that stops the start: the message names the setting. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
