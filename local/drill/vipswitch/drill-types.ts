/**
 * The vipswitch drill's vocabulary: what it runs (tools, scenarios, options) and what it reports (results). No I/O.
 */
import type { MsRange } from '../../aws-endpoint/index';
import type { LocalStack } from '../../stack';
import type { EventFacts } from '../../../shared/domain/event';
import type { ClientWindow } from './write-client';

export type DrillTool = 'repmgr' | 'patroni' | 'keepalived' | 'pgpool';
export const DRILL_TOOLS: readonly DrillTool[] = ['repmgr', 'patroni', 'keepalived', 'pgpool'];

/** The local AWS endpoint's latency profile the drill starts the stack with. */
export type DrillLatency = 'aws' | 'instant';

/** Scenarios per tool, in their default order (each one starts from where the previous one left the cluster). */
export const DRILL_SCENARIOS: Record<DrillTool, readonly string[]> = {
  repmgr: ['failover', 'split-brain', 'rejoin', 'switchover'],
  patroni: ['switchover', 'failover', 'rejoin'],
  keepalived: ['failover', 'standby-master', 'old-primary-returns', 'node-crash'],
  pgpool: ['leader-killed', 'quorum-lost'],
};

/**
 * One point of a scenario's timeline, in ms from the action (wall clock, this machine). Steps of a move:
 * `action`; `detection` (first journal entry about the failure); `promote hook` (the hook call that carried the
 * accepted claim: its event's occurredAt, else the journal's receivedAt); `committed` (journal receivedAt of the
 * accepted claim: the 202); `moved` (first 50 ms poll of the local endpoint's state with every mechanism on the new
 * primary); `verified` (the status API reads `endpoint.phase = converged` for the new epoch: the actuator read every
 * target back; its `at`). Split brain: `started`, `stale claim hook`, `rejected` (409), `paged`, `observed` (end of the
 * observation window), `stopped`, `verified`. Rejoin: `rejoined`, `verified`.
 */
export interface DrillStep {
  step: string;
  atMs: number;
  node?: string;
  detail?: string;
}

export interface DrillJournalLine {
  atMs: number;
  receivedAt: string;
  node: string;
  type: string;
  outcome: string;
  reason: string;
  epoch: number | null;
  facts: EventFacts | null;
}

export interface DrillPage {
  atMs: number;
  type: string | undefined;
  severity: string | undefined;
  subject: string | undefined;
}

/** The Route 53 change that pointed the writer record at the new primary, from the local endpoint's state view. */
export interface DrillRoute53Change {
  changeId: string;
  /** ms from the action: ChangeResourceRecordSets accepted (PENDING) */
  submittedMs: number;
  /** ms from the action: first 50 ms poll that showed it INSYNC (null: not INSYNC when the scenario ended) */
  insyncMs: number | null;
}

/** How the promote hook's call went, from the node's hook log (local/drill/vipswitch/hook-evidence.ts). */
export interface DrillHookCall {
  node: string;
  eventId: string;
  type: string;
  /** the server's answer as the hook logged it (202 accepted) */
  status: number | null;
  code: string | null;
  /** the POST with its retries, as the hook measured it */
  postMs: number | null;
  /** how long the call held its caller (repmgr waits for it; Patroni runs callbacks in the background) */
  heldMs: number | null;
  heldFrom: string;
}

export interface DrillScenarioResult {
  name: string;
  /** true when the scenario ran through and the endpoint was right at its end */
  ok: boolean;
  timeline: DrillStep[];
  error?: string;
  /** where the endpoint was before the action, and where it must be after it */
  from: string | null;
  to: string | null;
  /** the node every mechanism pointed at when the scenario ended (null: none / mixed) */
  endpointAtEnd: string | null;
  /** the only node out of recovery when the scenario ended (null: none or several) */
  primaryAtEnd: string | null;
  /** endpoint changes seen from the action on (ms from the action; target null = none / mixed) */
  endpointChanges: { atMs: number; target: string | null }[];
  /** the status API's `endpoint` as it changed from the action on */
  endpointStatus: { atMs: number; epoch: number; phase: string }[];
  /** journal entries received from the action on, oldest first */
  journal: DrillJournalLine[];
  /** pages published from the action on */
  pages: DrillPage[];
  /** a move: the writer record's Route 53 change and when it was INSYNC (apart from `verified`) */
  route53?: DrillRoute53Change;
  /** a move: the call of the promote hook whose claim was accepted */
  promoteHook?: DrillHookCall;
  /** what went wrong outside vipswitch's responsibility and was repaired (e.g. a sibling's repmgrd terminated) */
  warnings: string[];
  /** what the write client saw from the action to the end of the scenario (outage, writes acknowledged by a non-primary) */
  client?: ClientWindow;
  /**
   * a claim refused without a 409 stale_claim: a keepalived MASTER on a standby (`role_disagreement`, answered ignored)
   * or a Pgpool-II member without quorum (`unverified_claim`, 409); the answer as the hook logged it
   */
  refusedClaim?: { node: string; type: string; outcome: 'role_disagreement' | 'unverified_claim'; reason: string; status: number | null; code: string | null; paged: boolean };
  /** split-brain: the stale claim as the hook recorded the server's answer */
  staleClaim?: { node: string; type: string; claimedTimeline: number | null; status: number | null; code: string | null; paged: boolean };
}

export interface DrillResult {
  ok: boolean;
  tool: DrillTool;
  /** the vipswitch cluster name (unique per run) */
  cluster: string;
  /** the local AWS endpoint's profile and Route 53 INSYNC delay (null when a running stack was given) */
  latency: { profile: DrillLatency; insyncMs: MsRange } | null;
  /** the real cluster's base dir (removed by the teardown) */
  baseDir?: string;
  /** the network namespaces the cluster made (deleted by the teardown) */
  namespaces?: string[];
  scenarios: DrillScenarioResult[];
  /** the write client over the whole drill: writes, acknowledged, acknowledged by a non-primary (must be 0), psql connections */
  client?: { writes: number; acknowledged: number; nonPrimaryAcks: number; connections: number };
  /** set when the drill failed outside a scenario (stack, registration, build, initial endpoint) */
  error?: string;
}

export interface VipswitchDrillOptions {
  tool: DrillTool;
  /** default: all of {@link DRILL_SCENARIOS}[tool], in that order */
  scenarios?: string[];
  log: (line: string) => void;
  /** an already running local stack (left running; `latency` and `insyncMs` do not apply); default: one is started and stopped */
  stack?: LocalStack;
  /** the local AWS endpoint's latency profile (default `aws`: AWS-like call latencies, Describe lag, slow INSYNC) */
  latency?: DrillLatency;
  /** Route 53 PENDING → INSYNC, in ms or a range drawn per change (default: the profile's, 30–60 s under `aws`) */
  insyncMs?: number | MsRange;
  /** split-brain: how long the endpoint is watched to stay (default 5000 ms) */
  observeMs?: number;
  /** copy the cluster's logs (PostgreSQL, repmgrd / Patroni, hook logs, spools' answers) here before the teardown */
  logsDir?: string;
  /** aborting stops at the next poll and tears everything down */
  signal?: AbortSignal;
}

/** Why a scenario list cannot run in that order (each scenario needs the state the previous ones leave), or null. */
export function checkScenarioOrder(tool: DrillTool, scenarios: readonly string[]): string | null {
  if (scenarios.length === 0) return 'no scenario given';
  const unknown = scenarios.find((s) => !DRILL_SCENARIOS[tool].includes(s));
  if (unknown !== undefined) return `unknown scenario ${unknown} for ${tool} (${DRILL_SCENARIOS[tool].join(', ')})`;
  // each Pgpool-II scenario starts and ends with the three members up
  if (tool === 'pgpool') return null;
  if (tool === 'keepalived') {
    let failed = false;
    for (const s of scenarios) {
      if (s === 'failover') {
        if (failed) return 'failover needs every node up: put old-primary-returns before it';
        failed = true;
      } else if (s === 'node-crash') {
        // it brings the crashed host back itself
        if (failed) return 'node-crash needs every node up: put old-primary-returns before it';
      } else if (s === 'old-primary-returns') {
        if (!failed) return 'old-primary-returns needs a failover before it (the killed old primary comes back)';
        failed = false;
      }
    }
    return null;
  }
  let down = false;
  let splitBrainDone = false;
  for (const s of scenarios) {
    if (!DRILL_SCENARIOS[tool].includes(s)) return `unknown scenario ${s} for ${tool} (${DRILL_SCENARIOS[tool].join(', ')})`;
    if (s === 'failover') {
      if (down) return 'failover needs every node up: put rejoin before it';
      down = true;
      splitBrainDone = false;
    } else if (s === 'switchover') {
      if (down) return 'switchover needs every node up: put rejoin before it';
    } else if (s === 'split-brain') {
      if (!down || splitBrainDone) return 'split-brain needs a failover just before it (the killed old primary is started again)';
      splitBrainDone = true;
    } else if (s === 'rejoin') {
      if (!down) return 'rejoin needs a failover before it (it rejoins the failed old primary)';
      down = false;
    }
  }
  return null;
}
