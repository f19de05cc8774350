/**
 * Latency profiles: how slow the local AWS endpoint answers, how long a Route 53 change stays PENDING, and how
 * long EC2 Describe calls may keep showing a resource as it was before a change. `instant` is the endpoint's
 * historical behaviour (answers at once, INSYNC after 100 ms, Describe always current); `aws` is shaped like the
 * real services. README.md ("Latency profiles") gives every figure and where it comes from.
 */
import type { ServiceName } from './faults';

/**
 * One call's latency, drawn per call: log-normal with median `p50Ms` and 99th percentile `p99Ms`, then clamped to
 * [`minMs`, `maxMs`]. `p50Ms === p99Ms` gives a constant (clamped) latency.
 */
export interface LatencyDistribution {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly minMs: number;
  readonly maxMs: number;
}

/** Milliseconds drawn uniformly from [`minMs`, `maxMs`]; equal bounds give a fixed value. */
export interface MsRange {
  readonly minMs: number;
  readonly maxMs: number;
}

/** The groups of calls a profile gives a latency to (actions not named elsewhere fall in their service's group). */
export const CallClass = {
  /** EC2 `Describe*`. */
  Ec2Describe: 'ec2Describe',
  /** Every other EC2 action: ReplaceRoute, CreateRoute, AssociateAddress, AssignPrivateIpAddresses, StopInstances, … */
  Ec2Mutation: 'ec2Mutation',
  /** Route 53 ChangeResourceRecordSets. */
  Route53Change: 'route53Change',
  /** Route 53 GetChange (polled while waiting for INSYNC). */
  Route53GetChange: 'route53GetChange',
  /** Route 53 List* and Get* other than GetChange. */
  Route53Read: 'route53Read',
  /** SNS Publish. */
  SnsPublish: 'snsPublish',
  /** Every other SNS action. */
  SnsOther: 'snsOther',
} as const;
export type CallClass = (typeof CallClass)[keyof typeof CallClass];

/**
 * Everything that makes the endpoint slow or lagging. Composes with fault rules: a rule's `latencyMs` is added on
 * top of the profile's latency for the call.
 */
export interface LatencyProfile {
  /** Shown in the endpoint's log. */
  readonly name: string;
  /** Latency per call class; a class left out answers at once. */
  readonly calls: Readonly<Partial<Record<CallClass, LatencyDistribution>>>;
  /** Per-action overrides, keyed `service:Action` (e.g. `ec2:ReplaceRoute`); they win over `calls`. */
  readonly actions?: Readonly<Record<string, LatencyDistribution>>;
  /** How long each Route 53 change stays PENDING before GetChange says INSYNC (drawn per change). */
  readonly route53InsyncMs: MsRange;
  /**
   * For how long after an EC2 mutation DescribeRouteTables / DescribeAddresses / DescribeNetworkInterfaces (and
   * what DescribeInstances shows of them) may still show the changed resources as they were before it. Drawn per
   * mutation; `{ minMs: 0, maxMs: 0 }` turns the lag off.
   */
  readonly describeLagMs: MsRange;
  /** Chance (0..1) that one Describe call inside a lag window is answered from the old state; each call draws anew. */
  readonly staleReadProbability: number;
}

/**
 * The built-in profiles. `instant` is the endpoint's behaviour before profiles existed, so tests that need speed
 * keep it; `aws` is for runs that should feel like AWS (see README.md for the sources of each figure).
 */
export const LATENCY_PROFILES = {
  instant: {
    name: 'instant',
    calls: {},
    route53InsyncMs: { minMs: 100, maxMs: 100 },
    describeLagMs: { minMs: 0, maxMs: 0 },
    staleReadProbability: 0.5,
  },
  aws: {
    name: 'aws',
    calls: {
      ec2Describe: { p50Ms: 120, p99Ms: 500, minMs: 40, maxMs: 2000 },
      ec2Mutation: { p50Ms: 200, p99Ms: 600, minMs: 100, maxMs: 2500 },
      route53Change: { p50Ms: 250, p99Ms: 1000, minMs: 100, maxMs: 3000 },
      route53GetChange: { p50Ms: 100, p99Ms: 400, minMs: 30, maxMs: 1500 },
      route53Read: { p50Ms: 100, p99Ms: 400, minMs: 30, maxMs: 1500 },
      snsPublish: { p50Ms: 40, p99Ms: 200, minMs: 15, maxMs: 1000 },
      snsOther: { p50Ms: 60, p99Ms: 300, minMs: 20, maxMs: 1000 },
    },
    route53InsyncMs: { minMs: 30_000, maxMs: 60_000 },
    describeLagMs: { minMs: 0, maxMs: 1000 },
    staleReadProbability: 0.5,
  },
} as const satisfies Readonly<Record<string, LatencyProfile>>;

/** The name of a built-in profile. */
export type LatencyProfileName = keyof typeof LATENCY_PROFILES;

const PROFILE_NAMES = Object.keys(LATENCY_PROFILES) as LatencyProfileName[];

/** Thrown for a bad profile or a bad `VIPSWITCH_*` latency variable; the message names the field or variable. */
export class LatencyProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LatencyProfileError';
  }
}

function checkMs(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new LatencyProfileError(`latency profile ${field}: expected a non-negative number of milliseconds`);
  return value;
}

function checkRange(field: string, range: MsRange | undefined): void {
  if (range === undefined) throw new LatencyProfileError(`latency profile ${field}: missing`);
  checkMs(`${field}.minMs`, range.minMs);
  checkMs(`${field}.maxMs`, range.maxMs);
  if (range.minMs > range.maxMs) throw new LatencyProfileError(`latency profile ${field}: minMs is above maxMs`);
}

function checkDistribution(field: string, d: LatencyDistribution): void {
  for (const key of ['p50Ms', 'p99Ms', 'minMs', 'maxMs'] as const) checkMs(`${field}.${key}`, d[key]);
  if (d.minMs > d.maxMs) throw new LatencyProfileError(`latency profile ${field}: minMs is above maxMs`);
  if (d.p50Ms > d.p99Ms) throw new LatencyProfileError(`latency profile ${field}: p50Ms is above p99Ms`);
}

const CLASSES = new Set<string>(Object.values(CallClass));

/** Check a profile (built-in or hand-made); throws {@link LatencyProfileError} naming the bad field. */
export function validateLatencyProfile(profile: LatencyProfile): LatencyProfile {
  if (typeof profile !== 'object' || profile === null) throw new LatencyProfileError('latency profile: expected an object');
  if (typeof profile.name !== 'string' || profile.name === '') throw new LatencyProfileError('latency profile name: expected a non-empty string');
  for (const [cls, d] of Object.entries(profile.calls ?? {})) {
    if (!CLASSES.has(cls)) throw new LatencyProfileError(`latency profile calls.${cls}: unknown call class (expected one of ${[...CLASSES].join(', ')})`);
    if (d !== undefined) checkDistribution(`calls.${cls}`, d);
  }
  for (const [key, d] of Object.entries(profile.actions ?? {})) {
    if (!/^(ec2|route53|sns):[A-Za-z0-9]+$/.test(key)) throw new LatencyProfileError(`latency profile actions.${key}: expected a key like "ec2:ReplaceRoute"`);
    checkDistribution(`actions.${key}`, d);
  }
  checkRange('route53InsyncMs', profile.route53InsyncMs);
  checkRange('describeLagMs', profile.describeLagMs);
  const p = profile.staleReadProbability;
  if (typeof p !== 'number' || !(p >= 0 && p <= 1)) throw new LatencyProfileError('latency profile staleReadProbability: expected a number 0..1');
  return profile;
}

/** A profile by name, or the given one validated; `undefined` is `instant`. */
export function resolveLatencyProfile(latency: LatencyProfileName | LatencyProfile | undefined): LatencyProfile {
  if (latency === undefined) return LATENCY_PROFILES.instant;
  if (typeof latency === 'string') {
    if (!(PROFILE_NAMES as string[]).includes(latency)) throw new LatencyProfileError(`unknown latency profile "${latency}" (expected one of ${PROFILE_NAMES.join(', ')})`);
    return LATENCY_PROFILES[latency];
  }
  return validateLatencyProfile(latency);
}

/** `"3000"` → 3000..3000, `"2000-4000"` → 2000..4000; anything else throws naming `variable`. */
export function parseMsRange(variable: string, text: string): MsRange {
  const match = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(text);
  if (match === null) throw new LatencyProfileError(`${variable} must be milliseconds ("3000") or a range ("2000-4000"), got "${text}"`);
  const minMs = Number(match[1]);
  const maxMs = match[2] === undefined ? minMs : Number(match[2]);
  if (minMs > maxMs) throw new LatencyProfileError(`${variable}: the range "${text}" runs backwards`);
  return { minMs, maxMs };
}

/**
 * The profile the environment asks for: `VIPSWITCH_LATENCY` (`instant` or `aws`; unset or empty is `instant`),
 * then the optional overrides `VIPSWITCH_R53_INSYNC_MS` and `VIPSWITCH_DESCRIBE_LAG_MS` (each `"3000"` or
 * `"2000-4000"`). Throws {@link LatencyProfileError} naming the variable and the allowed values.
 */
export function latencyProfileFromEnv(env: NodeJS.ProcessEnv = process.env): LatencyProfile {
  const name = (env.VIPSWITCH_LATENCY ?? '').trim();
  let profile: LatencyProfile;
  if (name === '') profile = LATENCY_PROFILES.instant;
  else if ((PROFILE_NAMES as string[]).includes(name)) profile = LATENCY_PROFILES[name as LatencyProfileName];
  else throw new LatencyProfileError(`VIPSWITCH_LATENCY must be one of ${PROFILE_NAMES.join(', ')} (or unset for instant), got "${name}"`);
  const insync = env.VIPSWITCH_R53_INSYNC_MS;
  const lag = env.VIPSWITCH_DESCRIBE_LAG_MS;
  if ((insync ?? '') === '' && (lag ?? '') === '') return profile;
  return {
    ...profile,
    name: `${profile.name}+env`,
    ...(insync === undefined || insync === '' ? {} : { route53InsyncMs: parseMsRange('VIPSWITCH_R53_INSYNC_MS', insync) }),
    ...(lag === undefined || lag === '' ? {} : { describeLagMs: parseMsRange('VIPSWITCH_DESCRIBE_LAG_MS', lag) }),
  };
}

/** A small seeded PRNG (mulberry32): the same seed gives the same sequence, so latency-shaped tests repeat. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** z of the 99th percentile of the standard normal: sigma = ln(p99 / p50) / Z99 makes p99Ms the 99th percentile. */
const Z99 = 2.3263478740408408;

/** Draws the profile's numbers for one endpoint; `random` is the only source of chance. */
export class LatencySampler {
  constructor(
    readonly profile: LatencyProfile,
    private readonly random: () => number,
  ) {}

  /** The distribution that applies to `service`/`action`, if any. */
  distributionFor(service: ServiceName, action: string): LatencyDistribution | undefined {
    return this.profile.actions?.[`${service}:${action}`] ?? this.profile.calls[callClassOf(service, action)];
  }

  /** One call's profile latency in ms (0 when the profile gives this call none; no random draw then). */
  callLatencyMs(service: ServiceName, action: string): number {
    const d = this.distributionFor(service, action);
    return d === undefined ? 0 : this.sample(d);
  }

  /** How long one Route 53 change stays PENDING. */
  insyncDelayMs(): number {
    return this.uniform(this.profile.route53InsyncMs);
  }

  /** The lag window of one EC2 mutation. */
  describeLagMs(): number {
    return this.uniform(this.profile.describeLagMs);
  }

  /** Whether Describe reads can lag at all under this profile (if not, nothing is snapshotted). */
  get lagEnabled(): boolean {
    return this.profile.describeLagMs.maxMs > 0 && this.profile.staleReadProbability > 0;
  }

  /** Whether one Describe call inside a lag window is answered from the old state. */
  staleRead(): boolean {
    return this.random() < this.profile.staleReadProbability;
  }

  /** A number in [0, 1): where inside a call its change lands. */
  fraction(): number {
    return this.random();
  }

  private uniform(range: MsRange): number {
    if (range.minMs === range.maxMs) return range.minMs;
    return Math.round(range.minMs + (range.maxMs - range.minMs) * this.random());
  }

  private sample(d: LatencyDistribution): number {
    let value = d.p50Ms;
    if (d.p99Ms > d.p50Ms && d.p50Ms > 0) {
      // Box–Muller from two uniforms; 1 - u keeps the logarithm's argument in (0, 1].
      const u = 1 - this.random();
      const v = this.random();
      const z = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      value = d.p50Ms * Math.exp((Math.log(d.p99Ms / d.p50Ms) / Z99) * z);
    }
    return Math.round(Math.min(d.maxMs, Math.max(d.minMs, value)) * 100) / 100;
  }
}

/** Which {@link CallClass} a call is in. */
export function callClassOf(service: ServiceName, action: string): CallClass {
  switch (service) {
    case 'ec2':
      return action.startsWith('Describe') ? CallClass.Ec2Describe : CallClass.Ec2Mutation;
    case 'route53':
      if (action === 'ChangeResourceRecordSets') return CallClass.Route53Change;
      return action === 'GetChange' ? CallClass.Route53GetChange : CallClass.Route53Read;
    case 'sns':
      return action === 'Publish' ? CallClass.SnsPublish : CallClass.SnsOther;
  }
}
