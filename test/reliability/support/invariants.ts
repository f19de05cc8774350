/**
 * The invariants of issue 10 (R1, R2), checked on a schedule's trace, and the figures of the run. Pure.
 *
 *  1. the epoch only grows: every epoch the app read (ingest, actuator guard, reconcile) is at least every epoch read
 *     before that read started; the accepted epochs are exactly 1..final, each once;
 *  2. no accepted claim is older than a claim committed before it: in epoch order, timelines never go down and an
 *     equal timeline is the same node; a claim answered before another was sent has the lower epoch;
 *  3. at quiescence every target points at the newest committed holder, whose epoch is applied and converged;
 *  4. nothing lost: every call got a final answer (no 5xx left), duplicates got the first answer, and the newest
 *     timeline claimed is the one committed (unless its claim gave up after losing its commit races, reported);
 *  5. the windows: how long a route pointed at a holder that was no longer the newest — `lag` (a commit, then the
 *     move) and `takeback` (a route moved to a superseded holder after the newer commit) — and drift heal times.
 */
import { DRIFT_ENI, NODES } from './rig';
import type { SendRecord, Trace } from './run-schedule';

export interface Window {
  kind: 'lag' | 'takeback' | 'drift';
  key: string;
  ms: number;
  /** ms after the schedule's t0 */
  at: number;
  /** takeback: the route's value, the holder and its epoch when it opened */
  detail?: string;
}

export interface Verdict {
  violations: string[];
  windows: Window[];
  counts: Record<string, number>;
  /** Claims that lost MAX_COMMIT_ATTEMPTS commit races (documented outcome, not a violation). */
  gaveUp: number;
}

const eniOf = (node: string | null | undefined) => NODES.find((n) => n.name === node)?.eni ?? null;
const ipOf = (node: string | null | undefined) => NODES.find((n) => n.name === node)?.privateIp ?? null;

export function checkTrace(trace: Trace): Verdict {
  const violations: string[] = [];
  const counts: Record<string, number> = {};
  const count = (k: string, n = 1) => (counts[k] = (counts[k] ?? 0) + n);
  const { sends, final } = trace;
  const fmt = (s: SendRecord) => `${s.id} ${s.node} TL${s.timeline}${s.inRecovery ? ' standby' : ''} → ${s.answer.status} ${s.answer.body.code}${s.answer.body.epoch !== undefined ? ` e${s.answer.body.epoch}` : ''}`;

  for (const s of sends) {
    count(`answer ${s.answer.status} ${s.answer.body.code}`);
    if (s.attempts > 1) count('retried sends');
  }
  if (trace.unsettled) violations.push(`quiescence: ${trace.unsettled}`);

  // 4a. every call has a final answer: no 5xx, no refusal of a well-formed, well-signed call.
  for (const s of sends) {
    if (s.answer.body.outsideContract) violations.push(`contract: ${s.id} answered ${s.answer.status} outside the contract: ${JSON.stringify(s.answer.body.outsideContract)}`);
    const ok = [200, 202, 409].includes(s.answer.status);
    if (!ok) violations.push(`lost: ${fmt(s)} (${s.answer.body.message ?? ''}) after ${s.attempts} attempt(s)`);
  }

  // Original answers per event id (the non-duplicate one) and duplicates.
  const originals = new Map<string, SendRecord[]>();
  for (const s of sends) {
    if (s.answer.body.code === 'duplicate' || s.answer.status >= 500) continue;
    const list = originals.get(s.id) ?? [];
    list.push(s);
    originals.set(s.id, list);
  }
  for (const [id, list] of originals) if (list.length > 1) violations.push(`idempotency: event ${id} processed ${list.length} times: ${list.map(fmt).join('; ')}`);
  // A call whose first attempt was recorded but whose answer was lost (DynamoDB restarted under it) learns its answer
  // from the retry's `duplicate`: that first answer is the call's.
  for (const s of sends) {
    if (s.answer.body.code !== 'duplicate' || originals.has(s.id) || s.attempts < 2) continue;
    const first = s.answer.body.first as { status: number; body: Record<string, any> };
    originals.set(s.id, [{ ...s, answer: { status: first.status, body: first.body } }]);
    count('answers recovered from a retry');
  }
  for (const s of sends) {
    if (s.answer.body.code !== 'duplicate') continue;
    count('duplicates answered');
    const original = originals.get(s.id)?.[0];
    const first = s.answer.body.first as { status?: number; body?: { code?: string; epoch?: number } } | undefined;
    if (!original) violations.push(`idempotency: ${s.id} answered duplicate but no send was processed`);
    else if (!first || first.status !== original.answer.status || first.body?.code !== original.answer.body.code || first.body?.epoch !== original.answer.body.epoch) {
      violations.push(`idempotency: duplicate of ${s.id} answered ${JSON.stringify(first)} but the first answer was ${original.answer.status} ${original.answer.body.code}`);
    }
  }

  const accepted = [...originals.values()].map((l) => l[0]!).filter((s) => s.answer.body.code === 'accepted').sort((a, b) => a.answer.body.epoch - b.answer.body.epoch);
  count('accepted', accepted.length);
  const gaveUp = sends.filter((s) => s.answer.body.code === 'stale_claim' && /commit races/.test(String(s.answer.body.message))).length;

  // 1. the epoch only grows.
  const epochs = accepted.map((s) => s.answer.body.epoch as number);
  const finalEpoch = final.state?.epoch ?? -1;
  const expected = Array.from({ length: finalEpoch }, (_, i) => i + 1);
  if (JSON.stringify(epochs) !== JSON.stringify(expected)) violations.push(`epoch: accepted epochs ${JSON.stringify(epochs)}, final epoch ${finalEpoch}`);
  const reads = [...trace.epochReads].sort((a, b) => a.start - b.start);
  const byEnd = [...trace.epochReads].sort((a, b) => a.end - b.end);
  let j = 0;
  let maxBefore = -Infinity;
  for (const r of reads) {
    while (j < byEnd.length && byEnd[j]!.end < r.start) maxBefore = Math.max(maxBefore, byEnd[j++]!.epoch);
    if (r.epoch < maxBefore) {
      violations.push(`epoch: read ${r.epoch} at +${Math.round(r.start - trace.t0)}ms after a read of ${maxBefore} had ended`);
      break;
    }
  }
  count('epoch reads', reads.length);
  for (const s of accepted) {
    // An answered commit is visible: no read that started after it may see an older epoch.
    const stale = reads.find((r) => r.start > s.end && r.epoch < s.answer.body.epoch);
    if (stale) {
      violations.push(`epoch: read ${stale.epoch} at +${Math.round(stale.start - trace.t0)}ms after epoch ${s.answer.body.epoch} was answered`);
      break;
    }
  }

  // 2. no accepted claim older than one committed before it.
  for (let i = 1; i < accepted.length; i++) {
    const a = accepted[i - 1]!;
    const b = accepted[i]!;
    if (b.timeline < a.timeline || (b.timeline === a.timeline && b.node !== a.node)) violations.push(`order: ${fmt(b)} accepted after ${fmt(a)}`);
  }
  for (const a of accepted) {
    for (const b of accepted) {
      if (b.start > a.end && b.answer.body.epoch < a.answer.body.epoch) violations.push(`order: ${fmt(b)} sent after ${fmt(a)} was answered, with a lower epoch`);
    }
  }

  // 4b. the newest timeline claimed is the one committed.
  const claims = sends.filter((s) => !s.inRecovery);
  const newest = Math.max(...claims.map((s) => s.timeline));
  if (final.state && gaveUp === 0) {
    if (final.state.timeline !== newest) violations.push(`lost: the newest claim was timeline ${newest}, the cluster holds ${final.state.primary}@TL${final.state.timeline}`);
    else if (!claims.some((s) => s.timeline === newest && s.node === final.state!.primary)) violations.push(`lost: ${final.state.primary} holds TL${newest} but never claimed it`);
  }

  // 3. at quiescence every target points at the newest committed holder.
  const holder = final.state?.primary ?? null;
  const eni = eniOf(holder);
  if (final.routes.some((r) => r !== eni)) violations.push(`quiescence: routes ${JSON.stringify(final.routes)}, the holder ${holder} is ${eni}`);
  if (trace.cluster.record && final.record !== ipOf(holder)) violations.push(`quiescence: writer record ${final.record}, the holder ${holder} is ${ipOf(holder)}`);
  if (final.state && final.state.appliedEpoch !== final.state.epoch) violations.push(`quiescence: appliedEpoch ${final.state.appliedEpoch} < epoch ${final.state.epoch}`);
  if (final.targets && (final.targets.epoch !== finalEpoch || final.targets.phase !== 'converged')) violations.push(`quiescence: endpoint status ${final.targets.phase} for epoch ${final.targets.epoch} (current ${finalEpoch})`);

  // 3b. what the actuator alone left: right when it says converged; otherwise paged (the reconcile pass healed it, above).
  const before = trace.beforeReconcile;
  const beforeHolder = eniOf(before.state?.primary);
  const beforeRight = before.routes.every((r) => r === beforeHolder) && (!trace.cluster.record || before.record === ipOf(before.state?.primary));
  const drifted = trace.schedule.steps.some((s) => s.op === 'drift');
  if (before.targets?.phase === 'converged' && before.targets.epoch === before.state?.epoch && !beforeRight && !drifted) {
    violations.push(`actuator: status converged for epoch ${before.targets.epoch} but routes ${JSON.stringify(before.routes)} / record ${before.record} (holder ${before.state?.primary})`);
  }
  if (before.targets?.phase !== 'converged' || before.targets.epoch !== before.state?.epoch) {
    count('left to reconcile (actuation failed)');
    if (!trace.pages.some((p) => p.sent && (p.type === 'actuation_failed' || p.type === 'actuator_trigger_failed'))) violations.push(`pages: the move of epoch ${before.state?.epoch} was not carried out (${before.targets?.phase ?? 'no status'}) and nothing paged`);
  } else if (!beforeRight) count('left to reconcile (drift)');
  else count('converged by the actuator alone');

  // 5. windows.
  const commits = accepted.map((s) => ({ start: s.start, t: s.end, epoch: s.answer.body.epoch as number, eni: eniOf(s.node)! }));
  const windows: Window[] = [];
  for (const [key, history] of Object.entries(trace.routeHistory)) windows.push(...routeWindows(key, history, commits, trace.t0, trace.quiescentAt, violations));
  return { violations, windows, counts, gaveUp };
}

/**
 * One route's intervals pointing at a superseded holder, and its drift intervals. The holder at t is the one of the
 * highest epoch answered by t; a route already on the holder of a commit still in flight at t (sent, not yet answered:
 * the actuator can be faster than the answer) is not behind.
 */
export function routeWindows(key: string, history: [number, string | null][], commits: { start: number; t: number; epoch: number; eni: string }[], t0: number, end: number, violations: string[]): Window[] {
  type Ev = { t: number; order: number; route?: string | null; begin?: { epoch: number; eni: string }; commit?: { epoch: number; eni: string } };
  const events: Ev[] = [
    ...commits.map((c) => ({ t: c.start, order: 0, begin: c })),
    ...commits.map((c) => ({ t: c.t, order: 1, commit: c })),
    ...history.map(([t, route]) => ({ t, order: 2, route })),
  ].sort((a, b) => a.t - b.t || a.order - b.order);
  const windows: Window[] = [];
  const inFlight = new Map<number, string>();
  let route: string | null = null;
  let seen = false;
  let holder: string | null = null;
  let epoch = 0;
  let open: { kind: Window['kind']; since: number; detail?: string } | null = null;
  const close = (t: number) => {
    if (open) windows.push({ kind: open.kind, key, ms: t - open.since, at: open.since - t0, ...(open.detail ? { detail: `${open.detail}; back on the holder +${Math.round(t - t0)}ms` } : {}) });
    open = null;
  };
  for (const ev of events) {
    if (ev.begin) inFlight.set(ev.begin.epoch, ev.begin.eni);
    if (ev.commit) {
      inFlight.delete(ev.commit.epoch);
      if (ev.commit.epoch > epoch) {
        epoch = ev.commit.epoch;
        holder = ev.commit.eni;
      }
    }
    if (ev.order === 2) {
      route = ev.route ?? null;
      seen = true;
    }
    if (!seen) continue;
    const drift = route === null || route === DRIFT_ENI;
    const ahead = [...inFlight].some(([e, eni]) => e > epoch && eni === route);
    const behind = !drift && route !== holder && !ahead;
    if (open && ((open.kind === 'drift' && !drift) || (open.kind !== 'drift' && !behind))) close(ev.t);
    if (!open && drift) open = { kind: 'drift', since: ev.t };
    if (!open && behind) open = ev.commit ? { kind: 'lag', since: ev.t } : { kind: 'takeback', since: ev.t, detail: `route → ${route} at +${Math.round(ev.t - t0)}ms while epoch ${epoch} (${holder}) was answered` };
  }
  if (open) {
    violations.push(`quiescence: ${key} still ${(open as { kind: string }).kind === 'drift' ? 'drifted' : 'on a superseded holder'} at the end`);
    close(end);
  }
  return windows;
}
