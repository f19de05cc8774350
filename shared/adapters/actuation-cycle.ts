import type { ActionReport } from '../ports/cluster-store';
import type { PointAtOptions } from '../ports/endpoint-actuator';
import { DEFAULT_READ_BACK, readBack, type ReadBackOptions } from './read-back';

/** AWS error code/message of a failed SDK call, safe to journal and to answer with. */
export function awsError(error: unknown): { code: string; message: string } {
  const e = error as { name?: string; Code?: string; message?: string };
  return { code: e.Code ?? e.name ?? 'Error', message: (e.message ?? String(error)).slice(0, 300) };
}

/** An error named like an AWS one, for what a mechanism finds wrong in an answer that did not fail (a table missing from it). */
export function notFound(code: string, message: string): Error {
  return Object.assign(new Error(message), { name: code });
}

/** One target of one mechanism, as its report names it. Mechanisms extend it with what they need to act. */
export interface ActuationTarget {
  mechanism: ActionReport['mechanism'];
  /** The target's name in reports (a better one may come from the observation, see {@link Comparison.target}). */
  target: string;
  /** Where it should point, written as reports write it. */
  to: string;
}

/** What one target's read gave: its state, or the error that kept it from being read. */
export type Observation<S> = { state: S } | { error: unknown };

/** An observed target set against what it should be. */
export interface Comparison {
  /** `in_place`: already right; otherwise the kind of change that makes it right. */
  result: 'in_place' | 'moved' | 'created';
  /** Where it points now, written as `to` is (`null`: nowhere). */
  from: string | null;
  /** A better name for the target, learned from the read (an Elastic IP's public address). */
  target?: string;
}

/** A target that differs, with what was seen of it. */
export interface Pending<T extends ActuationTarget, S> {
  target: T;
  state: S;
  comparison: Comparison;
}

/**
 * Sends one mutating AWS call, the fencing guard asked right before it. Every mutation of a mechanism goes through it
 * (a fallback call too: a `CreateRoute` after a `ReplaceRoute` found no route is a mutation of its own).
 */
export type Mutate = <R>(send: () => Promise<R>) => Promise<R>;

/** What `act` made. */
export interface Acted<R> {
  /** What the mechanism's own `verify` needs (Route 53: the change id and its status). */
  receipt?: R;
  /** The change turned out another kind than compared (the route vanished before `ReplaceRoute`: `created`). */
  result?: 'moved' | 'created';
}

/** What a mechanism's own verification found for the targets of one act. */
export interface Verification {
  /** `true` confirmed, `false` not confirmed (give `error`), absent: not checked on purpose. */
  verified?: boolean;
  observedAfter?: string | null;
  error?: { code: string; message: string };
}

/**
 * The mechanism-specific part of an actuation: how to observe, what the current value is, how to mutate, how to
 * verify. Everything else (comparing, planning, the guard, read-back, reports, timing) is {@link runActuationCycle}'s.
 */
export interface ActuationMechanism<T extends ActuationTarget, S, R = void> {
  /**
   * Read every target's current state, batched where the API allows, in the order given. A target that cannot be
   * read carries its error (one unknown id must not hide the others' state). May throw: then every target failed.
   * Also the read-back's read, unless the mechanism has its own `verify`.
   */
  observe(targets: readonly T[]): Promise<Array<Observation<S>>>;
  /** Pure: the observed state against `target.to`. */
  compare(target: T, state: S): Comparison;
  /**
   * The state a target is in when it points at `value` (what the previous convergence verified). Only for mechanisms
   * whose mutation is idempotent and safe whatever the real state is: see {@link PointAtOptions.known}.
   */
  fromKnown?(target: T, value: string | null): S;
  /** `each`: one mutation per differing target, all concurrently. `batch`: one atomic mutation for all of them. */
  grouping: 'each' | 'batch';
  /** Make the change for `pending` (one target for `each`), sending every mutating call through `mutate`. Throws on failure. */
  act(pending: ReadonlyArray<Pending<T, S>>, mutate: Mutate): Promise<Acted<R>>;
  /**
   * Confirm one act's change, for all its targets at once, calling `checkpoint` between waits (it throws when the
   * guard says the move is superseded). Without it, the cycle reads back with `observe` and `compare`.
   */
  verify?(pending: ReadonlyArray<Pending<T, S>>, receipt: R | undefined, checkpoint: () => Promise<void>): Promise<Verification>;
  /** The report's error for an `act` that threw (default {@link awsError}). */
  actError?(error: unknown): { code: string; message: string };
}

/** How one cycle runs: the port's options, and how a change is read back. */
export interface ActuationCycleOptions extends PointAtOptions {
  /** Bounded re-reads after a change (default {@link DEFAULT_READ_BACK}). */
  readBack?: ReadBackOptions;
}

/** The guard said a newer epoch was committed: the mutation (or the wait) gives way. */
class Superseded extends Error {
  constructor() {
    super('a newer epoch was committed');
    this.name = 'Superseded';
  }
}

/** The guard itself failed: we cannot tell whether this move is still the newest, so nothing is changed. */
class GuardFailed extends Error {
  constructor(cause: unknown) {
    super(`the fencing guard failed: ${awsError(cause).message}`, { cause });
    this.name = 'GuardFailed';
  }
}

/** What a thrown act or verify turns a target's report into. */
function outcomeOf(error: unknown, otherwise: (error: unknown) => { code: string; message: string }): Pick<ActionReport, 'result' | 'error'> {
  if (error instanceof Superseded) return { result: 'superseded' };
  if (error instanceof GuardFailed) return { result: 'failed', error: { code: 'GuardFailed', message: error.message.slice(0, 300) } };
  return { result: 'failed', error: otherwise(error) };
}

/**
 * One actuation of one mechanism over its targets: observe (batched) → compare each → act only on a difference
 * (`created` / `moved`; nothing for `in_place`) with the guard asked right before each mutation → verify (the
 * mechanism's own, or bounded read-back through `observe`, because EC2 reads lag a change) → one report per target,
 * in the order of `targets`. With `plan`, stops after compare. Never throws: every failure is a target's report.
 * Safe to re-run: a second run finds everything `in_place` and makes no mutating call.
 */
export async function runActuationCycle<T extends ActuationTarget, S, R = void>(
  mechanism: ActuationMechanism<T, S, R>,
  targets: readonly T[],
  options: ActuationCycleOptions = {},
): Promise<ActionReport[]> {
  const started = Date.now();
  const reports: ActionReport[] = targets.map((t) => ({ mechanism: t.mechanism, target: t.target, to: t.to, result: 'failed' }));
  const finish = (i: number, fields: Partial<ActionReport>): void => {
    reports[i] = { ...reports[i]!, ...fields, ms: Date.now() - started };
  };
  if (targets.length === 0) return [];

  let observed: Array<Observation<S>>;
  const known = knownStates(mechanism, targets, options);
  if (known) observed = known;
  else {
    try {
      observed = await mechanism.observe(targets);
    } catch (error) {
      observed = targets.map(() => ({ error }));
    }
  }

  const pending: Array<Pending<T, S> & { index: number }> = [];
  targets.forEach((target, index) => {
    const seen = observed[index] ?? { error: new Error('not observed') };
    if ('error' in seen) return finish(index, { result: 'failed', error: awsError(seen.error) });
    const comparison = mechanism.compare(target, seen.state);
    finish(index, { target: comparison.target ?? target.target, from: comparison.from });
    // A target to re-assert is pointed again although the read says it is right: the read may lag a late change.
    const reassert = comparison.result === 'in_place' && !options.plan && mechanism.fromKnown !== undefined && (options.reassert === 'all' || options.reassert?.has(target.target) === true);
    if (reassert) pending.push({ target, state: seen.state, comparison: { ...comparison, result: 'moved' }, index });
    else if (comparison.result === 'in_place') finish(index, { result: 'in_place' });
    else if (options.plan) finish(index, { result: 'planned' });
    else pending.push({ target, state: seen.state, comparison, index });
  });
  if (pending.length === 0) return reports;

  const checkpoint = async (): Promise<void> => {
    if (!options.guard) return;
    let current: boolean;
    try {
      current = await options.guard();
    } catch (error) {
      throw new GuardFailed(error);
    }
    // Only an explicit `true` lets a mutation through: anything else is not proof that this epoch is still the newest.
    if (current !== true) throw new Superseded();
  };
  const mutate: Mutate = async (send) => {
    await checkpoint();
    return send();
  };
  const actError = (error: unknown) => (mechanism.actError ?? awsError)(error);

  const groups = mechanism.grouping === 'batch' ? [pending] : pending.map((p) => [p]);
  const toReadBack: typeof pending = [];
  await Promise.all(
    groups.map(async (group) => {
      let acted: Acted<R>;
      try {
        acted = await mechanism.act(group, mutate);
      } catch (error) {
        for (const p of group) finish(p.index, outcomeOf(error, actError));
        return;
      }
      const result = acted.result;
      for (const p of group) reports[p.index]!.result = result ?? (p.comparison.result === 'created' ? 'created' : 'moved');
      if (!mechanism.verify) {
        toReadBack.push(...group);
        return;
      }
      let verification: Verification;
      try {
        verification = await mechanism.verify(group, acted.receipt, checkpoint);
      } catch (error) {
        // The change was made; only its confirmation gave way (or broke).
        for (const p of group) finish(p.index, { ...outcomeOf(error, awsError), verified: false });
        return;
      }
      for (const p of group) finish(p.index, verification.error ? { ...verification, result: 'failed' } : verification);
    }),
  );
  if (toReadBack.length > 0) await verifyByReadBack(mechanism, toReadBack, options.readBack ?? DEFAULT_READ_BACK, finish, checkpoint);
  return reports;
}

/**
 * The targets' states from what the previous convergence verified, when the mechanism can act on that and every
 * target is known to differ from where it should point; otherwise null (observe first).
 */
function knownStates<T extends ActuationTarget, S, R>(mechanism: ActuationMechanism<T, S, R>, targets: readonly T[], options: ActuationCycleOptions): Array<Observation<S>> | null {
  const { known } = options;
  if (!mechanism.fromKnown || !known || options.plan) return null;
  if (!targets.every((t) => known.has(t.target) && known.get(t.target) !== t.to)) return null;
  return targets.map((t) => ({ state: mechanism.fromKnown!(t, known.get(t.target) ?? null) }));
}

/**
 * Re-read the changed targets until each compares `in_place` or the reads run out. A target confirmed once is not
 * read again (a later move by someone else is the next cycle's business); one never confirmed fails with
 * `VerificationFailed`, saying what it read back as. Before every read but the first the guard is asked: once a newer
 * epoch is committed, confirming this move is pointless (the newer one must act, soon), so the unconfirmed targets are
 * reported `superseded` with `verified: false` (the change was made) and the reads stop.
 */
async function verifyByReadBack<T extends ActuationTarget, S, R>(
  mechanism: ActuationMechanism<T, S, R>,
  changed: ReadonlyArray<Pending<T, S> & { index: number }>,
  options: ReadBackOptions,
  finish: (index: number, fields: Partial<ActionReport>) => void,
  checkpoint: () => Promise<void>,
): Promise<void> {
  let unconfirmed = [...changed];
  const lastSeen = new Map<number, { observedAfter: string | null } | { error: unknown }>();
  let reads = 0;
  let superseded = false;
  const seen = await readBack(
    async () => {
      if (reads++ > 0) {
        try {
          await checkpoint();
        } catch (error) {
          // Only a newer epoch stops the reads; a guard that failed says nothing about this move.
          if (!(error instanceof Superseded)) throw error;
          superseded = true;
          return 0;
        }
      }
      const observed = await mechanism.observe(unconfirmed.map((p) => p.target));
      unconfirmed = unconfirmed.filter((p, i) => {
        const o = observed[i] ?? { error: new Error('not read back') };
        if ('error' in o) {
          lastSeen.set(p.index, o);
          return true;
        }
        const now = mechanism.compare(p.target, o.state);
        if (now.result !== 'in_place') {
          lastSeen.set(p.index, { observedAfter: now.from });
          return true;
        }
        finish(p.index, { verified: true, observedAfter: now.from });
        return false;
      });
      return unconfirmed.length;
    },
    (left) => left === 0,
    options,
  );
  for (const p of unconfirmed) {
    if (superseded) {
      finish(p.index, { result: 'superseded', verified: false });
      continue;
    }
    const last = lastSeen.get(p.index) ?? { error: seen.error };
    const name = p.comparison.target ?? p.target.target;
    if ('observedAfter' in last) {
      const why = `reads back as ${last.observedAfter ?? 'nothing'}`;
      finish(p.index, { result: 'failed', verified: false, observedAfter: last.observedAfter, error: { code: 'VerificationFailed', message: `${name} ${why} after ${seen.reads} reads` } });
    } else {
      const why = `could not be read back (${awsError(last.error).code})`;
      finish(p.index, { result: 'failed', verified: false, error: { code: 'VerificationFailed', message: `${name} ${why} after ${seen.reads} reads` } });
    }
  }
}
