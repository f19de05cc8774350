import { isPgpoolFacts, type EventFacts, type VipEvent } from '../../shared/domain/event';
import { isPrimaryRole } from '../../shared/domain/patroni-argv';
import { PGPOOL_CLAIM_COMMANDS } from '../../shared/domain/pgpool-argv';
import { isQuorumBackedLeader } from '../../shared/domain/watchdog-info';
import type { HookMode } from '../../shared/protocol/build-event';
import type { HookConfig } from './config';
import type { HookLog } from './log';
import { probeFacts, probeUntilPrimary } from './probe';
import { LeadershipClock, pgpoolFacts, probeWatchdog } from './watchdog-probe';

/**
 * Per mode, how one call learns its facts (the dispatcher of runCall):
 * - repmgr, keepalived: one psql probe of the local PostgreSQL (keepalived passes no facts at all: findings §8);
 * - patroni: the same, but a primary callback waits (bounded) for the promotion Patroni only asked for;
 * - pgpool: one `pcp_watchdog_info -v` of the local watchdog, and a leadership token for a claim from the quorum-backed
 *   leader. A release (`if_down`, `de_escalation`) is probed with a shorter bound: pcp hangs during the local watchdog's
 *   own shutdown (5 of 9 de-escalations, findings §4), and pgpool's stop waits for the hook one-for-one.
 */

/** Bound of the watchdog probe on a release, whatever `probeTimeoutMs` says (pcp answers in 3–17 ms when it answers). */
export const RELEASE_PROBE_MAX_MS = 300;

export interface FactsContext {
  config: HookConfig;
  env: Readonly<Record<string, string | undefined>>;
  log: HookLog;
  /** Budget clock: ms since process start. */
  now: () => number;
  sleep: (ms: number) => Promise<void>;
  /** Leadership tokens (pgpool); by default kept in the spool directory. */
  clock?: LeadershipClock;
}

/** The facts to send, and whether a Patroni promotion wait extended the budget (by how long). */
export interface ProbedFacts {
  facts: EventFacts | null;
  waitedMs: number;
}

/**
 * A call that can come before the promotion that makes it true waits (bounded by `promoteWaitMs`) for
 * pg_is_in_recovery() to turn false:
 * - Patroni asks PostgreSQL to promote and calls the hook without waiting;
 * - keepalived's `MASTER`: when the MASTER's whole host dies, the others elect a MASTER as soon as its adverts stop
 *   (3 x advert_int + skew, findings §4), which can be the very standby repmgrd is about to promote; keepalived calls
 *   no notify when that node's priority then rises (findings §7, §9.6), so this call is its only claim. A MASTER still
 *   in recovery at the bound is sent as it is: a role disagreement, paged.
 */
export function needsPromotionWait(mode: HookMode, event: Pick<VipEvent, 'type' | 'role'>): boolean {
  if (mode === 'keepalived') return event.type === 'master';
  return mode === 'patroni' && isPrimaryRole(event.role) && (event.type === 'on_role_change' || event.type === 'on_start');
}

/** True for a pgpool command that claims the endpoint (`if_up`, `escalation`). */
export function isPgpoolClaim(event: Pick<VipEvent, 'source' | 'type'>): boolean {
  return event.source === 'pgpool' && (PGPOOL_CLAIM_COMMANDS as readonly string[]).includes(event.type);
}

/** Probe the facts of one call (or take `override`, from --facts-json / VIPSWITCH_FACTS_JSON). Never throws. */
export async function probeCallFacts(mode: HookMode, event: VipEvent, override: { facts: EventFacts | null } | null, context: FactsContext): Promise<ProbedFacts> {
  const { config, env, now } = context;
  if (mode === 'pgpool') {
    const clock = context.clock ?? new LeadershipClock(config.spoolDir);
    const claim = isPgpoolClaim(event);
    let probe: () => Promise<EventFacts | null>;
    if (override !== null) {
      // Given facts: a token given is kept; a missing one is minted exactly as after a real probe.
      const given = override.facts;
      if (!isPgpoolFacts(given) || given.watchdog.token !== null) return { facts: given, waitedMs: 0 };
      probe = async () => given;
    } else {
      const bound = Math.max(50, Math.min(config.probeTimeoutMs, claim ? config.timeoutMs - now() : RELEASE_PROBE_MAX_MS));
      probe = async () => {
        const watchdog = await probeWatchdog(config.pcp, bound, env as NodeJS.ProcessEnv);
        return watchdog === null ? null : { watchdog };
      };
    }
    const result = await pgpoolFacts(claim, async () => {
      const facts = await probe();
      return isPgpoolFacts(facts) ? facts.watchdog : null;
    }, clock);
    if (result.tokenNote) context.log.line({ id: event.id, type: event.type, leadershipToken: result.facts?.token ?? null, note: result.tokenNote });
    if (result.facts !== null && claim && !isQuorumBackedLeader(result.facts)) {
      context.log.line({ id: event.id, type: event.type, watchdog: 'not_leader', leader: result.facts.leader, quorum: result.facts.quorum, escalated: result.facts.escalated });
    }
    return { facts: result.facts === null ? null : { watchdog: result.facts }, waitedMs: 0 };
  }
  if (override !== null) return { facts: override.facts, waitedMs: 0 };
  if (needsPromotionWait(mode, event)) {
    const started = now();
    const facts = await probeUntilPrimary((ms) => probeFacts(config.pg, ms, env as NodeJS.ProcessEnv), config.probeTimeoutMs, config.promoteWaitMs, context.sleep, now);
    return { facts, waitedMs: now() - started };
  }
  const left = config.timeoutMs - now();
  return { facts: await probeFacts(config.pg, Math.max(50, Math.min(config.probeTimeoutMs, left)), env as NodeJS.ProcessEnv), waitedMs: 0 };
}
