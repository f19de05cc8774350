/**
 * R1 / R2 schedules: a random failover history of a three-node cluster and the hook calls it produces, sent with
 * jitter (reordering), in racing pairs, with duplicates, interleaved with extra actuator runs (a stream record
 * delivered twice), reconcile passes and drift (someone moving or deleting the VIP route). Pure: a schedule is a
 * function of its seed, printed on a violation and replayed from it.
 */
import { rng, type Rng } from './prng';
import type { NodeName } from './rig';

export type Profile = 'instant' | 'aws';

/** One hook call: what the node reports about itself. */
export interface CallSpec {
  id: string;
  node: NodeName;
  /** repmgr event name (context only: the decision rests on the facts). */
  type: string;
  inRecovery: boolean;
  timeline: number;
  /** Why the generator made it (for humans reading a failing schedule). */
  why: string;
}

export type Step =
  | { at: number; op: 'send'; call: CallSpec }
  /** The same event again (same id, same body): a hook retry whose first answer was lost. */
  | { at: number; op: 'resend'; id: string }
  /** A reconcile pass (converge with `fresh`); `inFlightMs: 0` also takes over a move the actuator has under way. */
  | { at: number; op: 'reconcile'; inFlightMs: number }
  /** The actuator invoked again for the cluster (at-least-once delivery of a stream record). */
  | { at: number; op: 'actuate' }
  /** Someone points one VIP route at a foreign ENI, or deletes it. */
  | { at: number; op: 'drift'; table: 0 | 1; kind: 'foreign' | 'delete' };

export interface Schedule {
  seed: number;
  profile: Profile;
  /** The cluster also has a Route 53 writer record (waitForInsync). */
  route53: boolean;
  /** The promotions, in the order they really happened (node, timeline); the first is the initial primary. */
  history: { node: NodeName; timeline: number }[];
  steps: Step[];
}

const OTHERS: Record<NodeName, NodeName[]> = { node1: ['node2', 'node3'], node2: ['node1', 'node3'], node3: ['node1', 'node2'] };

/** Generate the schedule of `seed` under `profile` (the profile sets the time scale: ms apart, or AWS-like seconds). */
export function makeSchedule(seed: number, profile: Profile, options: { route53Share?: number; driftShare?: number; foreignDrift?: boolean; interleave?: boolean } = {}): Schedule {
  const r = rng(seed);
  const scale = profile === 'instant' ? 40 : 700;
  const history: Schedule['history'] = [{ node: 'node1', timeline: 1 }];
  const promotions = r.chance(0.5) ? 1 : r.chance(0.6) ? 2 : 3;
  for (let k = 1; k <= promotions; k++) {
    const previous = history[k - 1]!;
    history.push({ node: r.pick(OTHERS[previous.node]), timeline: previous.timeline + (r.chance(0.15) ? 2 : 1) });
  }
  let n = 0;
  const id = () => `s${seed.toString(36).padStart(7, '0')}-${n++}`;
  const steps: Step[] = [];
  const jitter = () => r.int(0, Math.round(scale * 1.5));
  for (let k = 1; k <= promotions; k++) {
    const p = history[k]!;
    const old = history[k - 1]!;
    const at = k * scale + jitter();
    steps.push({ at, op: 'send', call: { id: id(), node: p.node, type: 'standby_promote', inRecovery: false, timeline: p.timeline, why: `promotion ${k}` } });
    // Two standbys promoted from the same parent (a split brain the fencing exists for): the first accepted wins.
    if (r.chance(0.25)) {
      const rival = r.pick(OTHERS[p.node]);
      steps.push({ at: r.chance(0.5) ? at : at + r.int(-scale, scale), op: 'send', call: { id: id(), node: rival, type: 'standby_promote', inRecovery: false, timeline: p.timeline, why: `rival of promotion ${k} on the same timeline` } });
    }
    // The old primary still running and re-asserting (repmgrd_start after a restart without rejoin), or delayed.
    if (r.chance(0.35)) steps.push({ at: at + r.int(-scale, 2 * scale), op: 'send', call: { id: id(), node: old.node, type: 'repmgrd_start', inRecovery: false, timeline: old.timeline, why: `old primary of promotion ${k}` } });
    // The new primary re-asserting its own timeline.
    if (r.chance(0.15)) steps.push({ at: at + jitter(), op: 'send', call: { id: id(), node: p.node, type: 'repmgrd_reload', inRecovery: false, timeline: p.timeline, why: `re-assertion after promotion ${k}` } });
    // A standby following the new primary (informational, changes its health).
    if (r.chance(0.2)) {
      const standby = r.pick(OTHERS[p.node]);
      steps.push({ at: at + jitter(), op: 'send', call: { id: id(), node: standby, type: 'standby_follow', inRecovery: true, timeline: p.timeline, why: `standby after promotion ${k}` } });
    }
  }
  // A claim from long ago arriving late (a spooled event flushed after an outage).
  if (promotions >= 2 && r.chance(0.4)) {
    const late = history[r.int(0, promotions - 2)]!;
    steps.push({ at: r.int(0, (promotions + 2) * scale), op: 'send', call: { id: id(), node: late.node, type: 'standby_promote', inRecovery: false, timeline: late.timeline, why: 'late claim of an old promotion' } });
  }
  const sends = steps.filter((s): s is Extract<Step, { op: 'send' }> => s.op === 'send');
  for (const s of sends) if (r.chance(0.2)) steps.push({ at: s.at + r.int(0, 2 * scale), op: 'resend', id: s.call.id });
  const end = (promotions + 2) * scale;
  // Extra actuator runs and reconcile passes in the middle of the race (R2 leaves them to the trigger and one sweep).
  const interleave = options.interleave !== false;
  for (let i = r.chance(0.5) ? r.int(1, 2) : 0; i > 0; i--) if (interleave) steps.push({ at: r.int(0, end), op: 'reconcile', inFlightMs: r.chance(0.5) ? 0 : 120_000 });
  if (r.chance(0.4) && interleave) steps.push({ at: r.int(0, end), op: 'actuate' });
  if (r.chance(options.driftShare ?? 0.2)) {
    for (let i = r.int(1, 2); i > 0; i--) steps.push({ at: r.int(0, end), op: 'drift', table: r.chance(0.5) ? 0 : 1, kind: r.chance(0.7) && options.foreignDrift !== false ? 'foreign' : 'delete' });
  }
  steps.sort((a, b) => a.at - b.at);
  return { seed, profile, route53: r.chance(options.route53Share ?? 0.3), history, steps };
}

/** Readable one-line-per-step form of a schedule (printed with a violation). */
export function describeSchedule(s: Schedule): string {
  const lines = [`seed ${s.seed} profile ${s.profile} route53 ${s.route53} history ${s.history.map((h) => `${h.node}@TL${h.timeline}`).join(' → ')}`];
  for (const step of s.steps) {
    switch (step.op) {
      case 'send':
        lines.push(`  +${step.at}ms send ${step.call.id} ${step.call.node} ${step.call.type} ${step.call.inRecovery ? 'standby' : 'primary'} TL${step.call.timeline} (${step.call.why})`);
        break;
      case 'resend':
        lines.push(`  +${step.at}ms resend ${step.id}`);
        break;
      case 'reconcile':
        lines.push(`  +${step.at}ms reconcile (inFlightMs ${step.inFlightMs})`);
        break;
      case 'actuate':
        lines.push(`  +${step.at}ms actuate again`);
        break;
      case 'drift':
        lines.push(`  +${step.at}ms drift: table ${step.table} ${step.kind}`);
        break;
    }
  }
  return lines.join('\n');
}

export type { Rng };
