/** The three services the endpoint speaks. */
export const ServiceName = { Ec2: 'ec2', Route53: 'route53', Sns: 'sns' } as const;
export type ServiceName = (typeof ServiceName)[keyof typeof ServiceName];

/**
 * One fault-injection rule. A call matches when `service` is equal and `action` is absent or equal.
 *
 * - `code` set: answer with that AWS error (status from `status`, else AWS's usual status for the code).
 * - `hang: true`: never answer; the client's own timeout has to fire.
 * - neither: a latency-only rule; the call then proceeds normally.
 * - `latencyMs` delays the answer (error or success); latencies of every firing rule add up.
 * - `rate` (0..1, default 1) is the chance the rule fires on a matching call.
 * - `count` caps how many times the rule fires; with `rate` 1 that is "the first N matching calls".
 *
 * Rules are tried in order; the first error or hang rule that fires decides the answer.
 */
export interface FaultRule {
  service: ServiceName;
  action?: string;
  code?: string;
  status?: number;
  message?: string;
  rate?: number;
  count?: number;
  latencyMs?: number;
  hang?: boolean;
}

/** A rule as listed back, with how often it has fired. */
export interface FaultRuleStatus extends FaultRule {
  fired: number;
}

/** What to do with one call. */
export interface FaultDecision {
  latencyMs: number;
  hang: boolean;
  error: { code: string; status: number; message: string } | undefined;
}

/** Thrown by {@link validateFaultRules}; `field` names the bad member, e.g. `[0].rate`. */
export class FaultRuleError extends Error {
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`fault rule ${field}: ${problem}`);
    this.name = 'FaultRuleError';
    this.field = field;
  }
}

/**
 * The status AWS uses for the codes people inject most. Anything else is 400, which is what AWS sends for
 * nearly every client error. SNS `Throttled` is 429: the SNS model says so (`awsQueryError`), and SDK v3
 * counts a 429 as throttling for its retry policy.
 */
const DEFAULT_STATUS: Readonly<Record<ServiceName, Readonly<Record<string, number>>>> = {
  ec2: { RequestLimitExceeded: 503, InternalError: 500, InternalFailure: 500, ServiceUnavailable: 503, Unavailable: 503, UnauthorizedOperation: 403, AuthFailure: 401 },
  route53: {
    Throttling: 400,
    PriorRequestNotComplete: 400,
    InternalError: 500,
    InternalFailure: 500,
    ServiceUnavailable: 503,
    NoSuchHostedZone: 404,
    NoSuchChange: 404,
    AccessDenied: 403,
  },
  sns: {
    Throttled: 429,
    InternalError: 500,
    InternalFailure: 500,
    ServiceUnavailable: 503,
    NotFound: 404,
    ResourceNotFound: 404,
    AuthorizationError: 403,
    SubscriptionLimitExceeded: 403,
    TopicLimitExceeded: 403,
    KMSOptInRequired: 403,
  },
};

const DEFAULT_MESSAGE: Readonly<Record<string, string>> = {
  RequestLimitExceeded: 'Request limit exceeded.',
  Throttling: 'Rate exceeded',
  Throttled: 'Rate exceeded',
  PriorRequestNotComplete: 'The request was rejected because Route 53 was still processing a prior request.',
  InternalError: 'An internal error has occurred',
  ServiceUnavailable: 'Service Unavailable',
};

/** AWS's usual HTTP status for `code` in `service`. */
export function defaultStatusFor(service: ServiceName, code: string): number {
  return DEFAULT_STATUS[service][code] ?? 400;
}

const SERVICES = new Set<string>(Object.values(ServiceName));
const KEYS = new Set(['service', 'action', 'code', 'status', 'message', 'rate', 'count', 'latencyMs', 'hang']);

/** Check a JSON value is a list of rules; throws {@link FaultRuleError} naming the bad field. */
export function validateFaultRules(input: unknown): FaultRule[] {
  if (!Array.isArray(input)) throw new FaultRuleError('(root)', 'expected an array of rules');
  return input.map((raw, i): FaultRule => {
    const f = `[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new FaultRuleError(f, 'expected an object');
    const o = raw as Record<string, unknown>;
    for (const key of Object.keys(o)) if (!KEYS.has(key)) throw new FaultRuleError(`${f}.${key}`, 'unknown field');
    if (typeof o.service !== 'string' || !SERVICES.has(o.service)) throw new FaultRuleError(`${f}.service`, `expected one of ${[...SERVICES].join(', ')}`);
    const rule: FaultRule = { service: o.service as ServiceName };
    for (const key of ['action', 'code', 'message'] as const) {
      const v = o[key];
      if (v === undefined) continue;
      if (typeof v !== 'string' || v === '') throw new FaultRuleError(`${f}.${key}`, 'expected a non-empty string');
      rule[key] = v;
    }
    if (o.status !== undefined) {
      if (typeof o.status !== 'number' || !Number.isInteger(o.status) || o.status < 400 || o.status > 599) throw new FaultRuleError(`${f}.status`, 'expected an integer 400..599');
      rule.status = o.status;
    }
    if (o.rate !== undefined) {
      if (typeof o.rate !== 'number' || !(o.rate >= 0 && o.rate <= 1)) throw new FaultRuleError(`${f}.rate`, 'expected a number 0..1');
      rule.rate = o.rate;
    }
    if (o.count !== undefined) {
      if (typeof o.count !== 'number' || !Number.isInteger(o.count) || o.count < 0) throw new FaultRuleError(`${f}.count`, 'expected a non-negative integer');
      rule.count = o.count;
    }
    if (o.latencyMs !== undefined) {
      if (typeof o.latencyMs !== 'number' || !Number.isFinite(o.latencyMs) || o.latencyMs < 0) throw new FaultRuleError(`${f}.latencyMs`, 'expected a non-negative number');
      rule.latencyMs = o.latencyMs;
    }
    if (o.hang !== undefined) {
      if (typeof o.hang !== 'boolean') throw new FaultRuleError(`${f}.hang`, 'expected true or false');
      rule.hang = o.hang;
    }
    if (rule.hang === true && rule.code !== undefined) throw new FaultRuleError(f, 'a rule either hangs or answers with a code, not both');
    if (rule.code === undefined && rule.hang !== true && rule.latencyMs === undefined) {
      throw new FaultRuleError(f, 'a rule needs a code, hang: true, or latencyMs');
    }
    if (rule.code === undefined && (rule.status !== undefined || rule.message !== undefined)) throw new FaultRuleError(f, 'status and message need a code');
    return rule;
  });
}

/** Holds the active rules and decides, call by call, which fire. `random` is injectable for tests. */
export class FaultInjector {
  private rules: FaultRuleStatus[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  /** Replace every rule (validated first; on error the old rules stay). */
  set(rules: readonly FaultRule[]): void {
    const valid = validateFaultRules(rules);
    this.rules = valid.map((r) => ({ ...r, fired: 0 }));
  }

  /** Drop every rule. */
  clear(): void {
    this.rules = [];
  }

  /** The active rules and their fire counts. */
  list(): FaultRuleStatus[] {
    return this.rules.map((r) => ({ ...r }));
  }

  /** Decide for one call. Counts a rule as fired only when it actually applies. */
  decide(service: ServiceName, action: string): FaultDecision {
    const decision: FaultDecision = { latencyMs: 0, hang: false, error: undefined };
    for (const rule of this.rules) {
      if (rule.service !== service) continue;
      if (rule.action !== undefined && rule.action !== action) continue;
      if (rule.count !== undefined && rule.fired >= rule.count) continue;
      if (this.random() >= (rule.rate ?? 1)) continue;
      rule.fired++;
      decision.latencyMs += rule.latencyMs ?? 0;
      if (rule.hang === true) {
        decision.hang = true;
        return decision;
      }
      if (rule.code !== undefined) {
        decision.error = {
          code: rule.code,
          status: rule.status ?? defaultStatusFor(service, rule.code),
          message: rule.message ?? DEFAULT_MESSAGE[rule.code] ?? `Injected fault: ${rule.code}`,
        };
        return decision;
      }
    }
    return decision;
  }
}
