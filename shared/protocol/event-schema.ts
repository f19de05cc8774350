import * as z from 'zod/mini';
import type { $ZodError } from 'zod/v4/core';
import { EVENT_SOURCES, EVENT_VERSION, OCCURRED_AT_FROM, type VipEvent } from '../domain/event';
import { useEnglishMessages } from './zod-messages';

// zod/mini, not zod: the functional API lets esbuild drop what these schemas do not use (the ingest Lambda's bundle,
// README "Cold start and size"); the messages are zod's English ones all the same.
useEnglishMessages();

const name = z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." or "-", at most 63'));
const text = (max: number) => z.string().check(z.maxLength(max));

/** Facts as the hook probed them; the system identifier is a decimal string (it exceeds 2^53). */
export const nodeFactsSchema = z.strictObject({
  inRecovery: z.boolean(),
  timeline: z.nullable(z.int().check(z.minimum(1), z.maximum(0xffffffff))),
  lsn: z.nullable(z.string().check(z.regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i, 'an LSN like 0/5000060'))),
  systemIdentifier: z.nullable(z.string().check(z.regex(/^\d{1,20}$/, 'a decimal system identifier'))),
});

/**
 * Facts of a pgpool event: what the local watchdog said (`pcp_watchdog_info -v`) and the leadership token the hook
 * minted (Unix ms; only with leader, quorum and escalation). Added to v1 as a second shape of `facts`: additive, every
 * earlier body validates as before.
 */
export const watchdogFactsSchema = z.strictObject({
  watchdog: z.strictObject({
    leader: z.boolean(),
    quorum: z.boolean(),
    escalated: z.boolean(),
    token: z.nullable(z.int().check(z.minimum(1), z.maximum(Number.MAX_SAFE_INTEGER))),
    localState: z.nullable(text(64)),
    quorumState: z.nullable(text(64)),
  }),
});

/** The v1 event body of `POST /v1/events` (DESIGN.md, "Wire contract"). Unknown fields are rejected. */
export const vipEventSchema = z.strictObject({
  v: z.literal(EVENT_VERSION),
  id: z.string().check(z.minLength(8), z.maxLength(128), z.regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, "_", ".", ":" or "-"')),
  cluster: name,
  node: name,
  source: z.enum(EVENT_SOURCES),
  type: z.string().check(z.regex(/^[a-z][a-z0-9_]{0,63}$/, 'a lower-case event name')),
  success: z.boolean(),
  role: z.nullable(text(32)),
  occurredAt: z.iso.datetime({ offset: true }),
  details: text(2048),
  facts: z.nullable(z.union([nodeFactsSchema, watchdogFactsSchema])),
  // occurredAtFrom: optional, added to v1 (an earlier body validates as before; README "Contract changes").
  raw: z.strictObject({ argv: z.array(text(2048)).check(z.maxLength(32)), occurredAtFrom: z.optional(z.enum(OCCURRED_AT_FROM)) }),
});

/** Validation issues as `path: message` lines, for a 400 answer a human can act on. */
export function describeIssues(error: $ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`);
}

/** Validate an untrusted body. Returns the event or the list of issues. */
export function parseVipEvent(input: unknown): { ok: true; event: VipEvent } | { ok: false; issues: string[] } {
  const result = vipEventSchema.safeParse(input);
  return result.success ? { ok: true, event: result.data as VipEvent } : { ok: false, issues: describeIssues(result.error) };
}
