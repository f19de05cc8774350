/**
 * The small error taxonomy of vipswitch. Every error a client can cause maps to one HTTP status and one
 * machine `code`; the `message` is safe to show (it never carries a secret). Match with `instanceof`.
 */
export class VipswitchError extends Error {
  /** Machine-readable code, sent to clients as `code`. */
  readonly code: string;
  /** HTTP status for the API answer. */
  readonly status: number;
  /** Extra, client-safe fields merged into the answer body. */
  readonly details: Record<string, unknown>;

  constructor(status: number, code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VipswitchError';
    this.status = status;
    this.code = code;
    this.details = options?.details ?? {};
  }
}

/** 400: the request body or a header is malformed or fails validation. */
export class InvalidRequestError extends VipswitchError {
  constructor(code: string, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(400, code, message, options);
    this.name = 'InvalidRequestError';
  }
}

/** 401: missing or bad signature, skewed timestamp, replayed request. */
export class AuthenticationError extends VipswitchError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(401, code, message, options);
    this.name = 'AuthenticationError';
  }
}

/** 404: the cluster or the node is not registered (or the repmgr node id does not match). */
export class NotFoundError extends VipswitchError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(404, code, message, options);
    this.name = 'NotFoundError';
  }
}

/** 409: the event conflicts with the cluster's state (stale claim, unverified claim, ...). */
export class ConflictError extends VipswitchError {
  constructor(code: string, message: string, details?: Record<string, unknown>, options?: { cause?: unknown }) {
    super(409, code, message, { ...options, ...(details === undefined ? {} : { details }) });
    this.name = 'ConflictError';
  }
}

/** 413: body larger than the limit. */
export class PayloadTooLargeError extends VipswitchError {
  constructor(limit: number) {
    super(413, 'payload_too_large', `body exceeds ${limit} bytes`);
    this.name = 'PayloadTooLargeError';
  }
}

/** 429: throttled. */
export class ThrottledError extends VipswitchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(429, 'throttled', message, options);
    this.name = 'ThrottledError';
  }
}

/** A hook call whose argv cannot be parsed. Names the argument at fault. */
export class ArgvError extends Error {
  readonly field: string;
  constructor(field: string, message: string, options?: { cause?: unknown }) {
    super(`${field}: ${message}`, options);
    this.name = 'ArgvError';
    this.field = field;
  }
}

/** A cluster config (cluster.yaml) that fails validation; `issues` names each bad field. */
export class ConfigError extends Error {
  readonly issues: string[];
  constructor(issues: string[]) {
    super(`invalid cluster config:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}
