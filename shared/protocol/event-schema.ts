import { z } from 'zod';
import { EVENT_SOURCES, EVENT_VERSION, OCCURRED_AT_FROM, type VipEvent } from '../domain/event';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'letters, digits, "_", "." or "-", at most 63');

/** Facts as the hook probed them; the system identifier is a decimal string (it exceeds 2^53). */
export const nodeFactsSchema = z
  .object({
    inRecovery: z.boolean(),
    timeline: z.number().int().min(1).max(0xffffffff).nullable(),
    lsn: z.string().regex(/^[0-9A-F]{1,8}\/[0-9A-F]{1,8}$/i, 'an LSN like 0/5000060').nullable(),
    systemIdentifier: z.string().regex(/^\d{1,20}$/, 'a decimal system identifier').nullable(),
  })
  .strict();

/**
 * Facts of a pgpool event: what the local watchdog said (`pcp_watchdog_info -v`) and the leadership token the hook
 * minted (Unix ms; only with leader, quorum and escalation). Added to v1 as a second shape of `facts`: additive, every
 * earlier body validates as before.
 */
export const watchdogFactsSchema = z
  .object({
    watchdog: z
      .object({
        leader: z.boolean(),
        quorum: z.boolean(),
        escalated: z.boolean(),
        token: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).nullable(),
        localState: z.string().max(64).nullable(),
        quorumState: z.string().max(64).nullable(),
      })
      .strict(),
  })
  .strict();

/** The v1 event body of `POST /v1/events` (DESIGN.md, "Wire contract"). Unknown fields are rejected. */
export const vipEventSchema = z
  .object({
    v: z.literal(EVENT_VERSION),
    id: z.string().min(8).max(128).regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits, "_", ".", ":" or "-"'),
    cluster: name,
    node: name,
    source: z.enum(EVENT_SOURCES),
    type: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'a lower-case event name'),
    success: z.boolean(),
    role: z.string().max(32).nullable(),
    occurredAt: z.iso.datetime({ offset: true }),
    details: z.string().max(2048),
    facts: z.union([nodeFactsSchema, watchdogFactsSchema]).nullable(),
    // occurredAtFrom: optional, added to v1 (an earlier body validates as before; README "Contract changes").
    raw: z.object({ argv: z.array(z.string().max(2048)).max(32), occurredAtFrom: z.enum(OCCURRED_AT_FROM).optional() }).strict(),
  })
  .strict();

/** Validation issues as `path: message` lines, for a 400 answer a human can act on. */
export function describeIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(body)'}: ${issue.message}`);
}

/** Validate an untrusted body. Returns the event or the list of issues. */
export function parseVipEvent(input: unknown): { ok: true; event: VipEvent } | { ok: false; issues: string[] } {
  const result = vipEventSchema.safeParse(input);
  return result.success ? { ok: true, event: result.data as VipEvent } : { ok: false, issues: describeIssues(result.error) };
}
