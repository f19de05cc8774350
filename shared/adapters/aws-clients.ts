/**
 * The one AWS client configuration of vipswitch: the Lambdas (functions/wiring.ts, functions/aws-wiring.ts) and the
 * operator CLI build every SDK client through it, so an operator's `confirm` or `reconcile` is bounded exactly like
 * the actuator. No SDK client is imported here (the ingest bundle must not carry EC2 / Route 53 / SNS).
 *
 * Every call is bounded: the SDK's adaptive retry strategy retries throttling, 5xx and timeouts with backoff and
 * jitter, and each attempt has a connect and a socket timeout. Endpoints and credentials come from the usual SDK
 * environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL(_<SERVICE>) for the local stack): code never names one.
 */

/** How hard and how long one AWS call may try. */
export interface AwsCallBounds {
  /** Attempts per call, the first included (1..10). */
  maxAttempts: number;
  /** Socket timeout of one attempt, ms. */
  requestTimeoutMs: number;
  /** TCP connect timeout of one attempt, ms. */
  connectionTimeoutMs?: number;
}

/** The Lambdas' defaults (shared/config/service-config.ts: AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUT_MS). */
export const DEFAULT_AWS_CALL_BOUNDS: Readonly<Required<AwsCallBounds>> = { maxAttempts: 4, requestTimeoutMs: 3000, connectionTimeoutMs: 1000 };

/** The constructor config every vipswitch SDK client gets. */
export interface AwsClientConfig {
  maxAttempts: number;
  retryMode: 'adaptive';
  requestHandler: { connectionTimeout: number; requestTimeout: number; throwOnRequestTimeout: true };
}

/** The client config for `bounds` (defaults: {@link DEFAULT_AWS_CALL_BOUNDS}). */
export function awsClientConfig(bounds: Partial<AwsCallBounds> = {}): AwsClientConfig {
  const b = { ...DEFAULT_AWS_CALL_BOUNDS, ...definedOnly(bounds) };
  return {
    maxAttempts: b.maxAttempts,
    retryMode: 'adaptive',
    // throwOnRequestTimeout: without it the installed node-http-handler only warns and the call hangs.
    requestHandler: { connectionTimeout: b.connectionTimeoutMs, requestTimeout: b.requestTimeoutMs, throwOnRequestTimeout: true },
  };
}

/**
 * Build an SDK client with vipswitch's bounds: `createAwsClient(EC2Client, bounds)`. Every client of the service is
 * made this way (one cold start, one CLI run: one client per service).
 */
export function createAwsClient<C>(Client: new (config: AwsClientConfig) => C, bounds: Partial<AwsCallBounds> = {}): C {
  return new Client(awsClientConfig(bounds));
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Error codes of a call that never got an answer from AWS (network, DNS, timeout): the service was not reachable. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'TimeoutError', 'RequestTimeout']);

/** True when `error` says AWS (or the endpoint configured for it) could not be reached, rather than answering an error. */
export function isUnreachable(error: unknown): boolean {
  const e = error as { name?: string; code?: string; cause?: unknown; $metadata?: { httpStatusCode?: number } } | undefined;
  if (!e) return false;
  if (e.$metadata?.httpStatusCode !== undefined) return false;
  if (UNREACHABLE.has(String(e.code)) || UNREACHABLE.has(String(e.name))) return true;
  if (e instanceof AggregateError) return e.errors.some(isUnreachable);
  return e.cause !== undefined && e.cause !== error ? isUnreachable(e.cause) : false;
}
