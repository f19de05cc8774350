/**
 * The drill's report: each scenario's steps as they happen (ScenarioRecorder), its summary (committed → moved →
 * verified, Route 53 INSYNC apart, how long the promote hook held its caller), and the final table.
 */
import type { Timeline } from '../util';
import type { DrillResult, DrillScenarioResult, DrillStep } from './drill-types';

/** the drill reads the local endpoint's state every 50 ms: INSYNC is seen up to that much late */
const POLL_SLACK_MS = 100;
const sec = (ms: number | undefined | null) => (ms === undefined || ms === null ? '-' : (ms / 1000).toFixed(3));

/** Builds one scenario's timeline as it runs, logging each step live (ms from the action). */
export class ScenarioRecorder {
  readonly steps: DrillStep[] = [];
  t0 = 0;
  constructor(
    readonly name: string,
    private readonly tl: Timeline,
  ) {}

  action(detail: string): number {
    this.t0 = Date.now();
    this.add('action', this.t0, undefined, detail);
    return this.t0;
  }

  add(step: string, at: number, node?: string, detail?: string): void {
    const s: DrillStep = { step, atMs: at - this.t0 };
    if (node !== undefined) s.node = node;
    if (detail !== undefined) s.detail = detail;
    this.steps.push(s);
    this.tl.logAt(at, `${this.name}: +${sec(s.atMs)}s ${step}${node ? ` ${node}` : ''}${detail ? ` — ${detail}` : ''}`);
  }

  /** A line of the scenario's report (not a step of its timeline). */
  note(text: string): void {
    this.tl.log(`${this.name}: ${text}`);
  }
}

const at = (s: DrillScenarioResult, step: string) => s.timeline.find((t) => t.step === step)?.atMs;

/**
 * The scenario in a few lines: the move (committed → moved → verified), Route 53's INSYNC on its own line (the
 * writer answered the new address as soon as the change was accepted; INSYNC is the name servers catching up), and
 * the promote hook's answer and how long it held its caller.
 */
export function formatScenarioSummary(s: DrillScenarioResult): string[] {
  const lines: string[] = [];
  const committed = at(s, 'committed');
  const moved = at(s, 'moved');
  const verified = at(s, 'verified');
  if (committed !== undefined) {
    const rel = (ms: number | undefined) => (ms === undefined ? '-' : `+${sec(ms)} s (commit +${sec(ms - committed)} s)`);
    lines.push(`committed +${sec(committed)} s → moved ${rel(moved)} → verified ${rel(verified)}  [seconds from the action]`);
  }
  if (s.route53) {
    const r = s.route53;
    lines.push(
      `Route 53 INSYNC ${r.insyncMs === null ? 'not seen' : `+${sec(r.insyncMs)} s`} — change ${r.changeId} submitted +${sec(r.submittedMs)} s` +
        `${r.insyncMs === null ? '' : `, PENDING for ${sec(r.insyncMs - r.submittedMs)} s`} (local endpoint's state view, 50 ms polls)`,
    );
    // waitForInsync: the actuator says converged only after INSYNC; earlier means another pass (reconcile) found the
    // records in place while the change was still PENDING
    if (r.insyncMs !== null && verified !== undefined && verified + POLL_SLACK_MS < r.insyncMs) {
      lines.push(`NOTE: the status said converged ${sec(r.insyncMs - verified)} s before Route 53 was INSYNC (a pass that found the records in place while the change was PENDING)`);
    }
  }
  if (s.promoteHook) {
    const h = s.promoteHook;
    lines.push(
      `promote hook ${h.node} ${h.type}: answered ${h.status ?? '?'} ${h.code ?? '?'}; held its caller ${h.heldMs === null ? '?' : `${sec(h.heldMs)} s`} ` +
        `(${h.heldFrom}; its POST ${h.postMs === null ? '?' : `${h.postMs} ms`})`,
    );
  }
  return lines;
}

/** The final table: per scenario, seconds from the action to each step. */
export function formatDrillTable(result: DrillResult): string {
  const cols = ['scenario', 'result', 'detection', 'promote hook', 'committed', 'moved', 'verified', 'r53 INSYNC', 'hook held', 'client outage', 'non-primary acks', 'notes'];
  const rows: string[][] = [];
  for (const s of result.scenarios) {
    const movedAway = s.endpointChanges.some((c) => c.target !== s.from);
    let hook = at(s, 'promote hook');
    let committed = sec(at(s, 'committed'));
    let notes = movedAway ? `${s.from} -> ${s.to}` : `endpoint stayed on ${s.to}`;
    // a refused claim takes the hook / committed columns unless the scenario also moved the endpoint (then in the notes)
    if (s.staleClaim) {
      const rejected = at(s, 'rejected');
      if (!s.promoteHook) {
        hook = at(s, 'stale claim hook');
        committed = rejected === undefined ? '-' : `409 ${sec(rejected)}`;
      }
      notes = `stale claim of ${s.staleClaim.node} (timeline ${s.staleClaim.claimedTimeline ?? '?'}) answered ${s.staleClaim.status} ${s.staleClaim.code}${s.promoteHook ? ` at ${sec(rejected)}` : ''}, paged ${sec(at(s, 'paged'))}; ${notes}`;
    } else if (s.refusedClaim) {
      const r = s.refusedClaim;
      const refused = at(s, r.outcome === 'role_disagreement' ? 'refused' : 'rejected');
      if (!s.promoteHook) {
        hook = at(s, r.outcome === 'role_disagreement' ? 'disagreement hook' : 'unverified claim hook');
        committed = refused === undefined ? '-' : `${r.status ?? '?'} ${sec(refused)}`;
      }
      notes = `${r.type} of ${r.node} refused (${r.outcome}; answered ${r.status ?? '?'} ${r.code ?? '?'}${s.promoteHook ? ` at ${sec(refused)}` : ''}), paged ${sec(at(s, 'paged'))}; ${notes}`;
    } else if (s.name === 'split-brain') {
      notes = `no stale claim recorded; ${notes}`;
    }
    if (at(s, 'rejoined') !== undefined) notes = `rejoined ${sec(at(s, 'rejoined'))}; ${notes}`;
    if (s.error) notes = `${notes}; ${s.error}`;
    rows.push([
      s.name,
      s.ok ? 'ok' : 'FAILED',
      sec(at(s, 'detection')),
      sec(hook),
      committed,
      movedAway ? sec(at(s, 'moved')) : 'stayed',
      sec(at(s, 'verified')),
      sec(s.route53?.insyncMs),
      sec(s.promoteHook?.heldMs),
      s.client ? `${s.client.outageKind === 'gap' ? 'gap ' : ''}${sec(s.client.outageMs)}` : '-',
      s.client ? String(s.client.nonPrimaryAcks) : '-',
      notes,
    ]);
  }
  const width = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((v, i) => (i === r.length - 1 ? v : i <= 1 ? v.padEnd(width[i]!) : v.padStart(width[i]!))).join('  ');
  const warnings = result.scenarios.flatMap((s) => s.warnings.map((w) => `  ${s.name}: ${w}`));
  const latency = result.latency
    ? `latency profile ${result.latency.profile}, Route 53 INSYNC after ${result.latency.insyncMs.minMs === result.latency.insyncMs.maxMs ? `${sec(result.latency.insyncMs.minMs)} s` : `${sec(result.latency.insyncMs.minMs)}–${sec(result.latency.insyncMs.maxMs)} s`}`
    : 'on a running stack';
  return [
    `${result.tool} drill on cluster ${result.cluster} (${latency}): seconds from the action (kill / switchover / start)`,
    line(cols),
    ...rows.map(line),
    '  committed: the journal receivedAt of the accepted claim (answered 202); moved: every mechanism on the new primary in the local endpoint;',
    '  verified: the status API says endpoint converged for the new epoch (read back; Route 53 waits for INSYNC); hook held: how long the promote hook held its caller',
    '  client outage: a client writing a row every 50 ms through the node the route table points at: last write acknowledged through the old node ->',
    '  first through the new one (gap: no move, the longest gap between acknowledged writes); non-primary acks: writes acknowledged by a server',
    '  that was not the primary at that moment (out of recovery on an older timeline than the newest primary seen): must be 0',
    ...(result.client ? [`  write client over the drill: ${result.client.writes} writes, ${result.client.acknowledged} acknowledged, ${result.client.nonPrimaryAcks} by a non-primary (${result.client.connections} connections)`] : []),
    ...(warnings.length ? ['warnings (outside vipswitch, repaired by the drill):', ...warnings] : []),
  ].join('\n');
}
