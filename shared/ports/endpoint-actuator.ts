import type { EndpointConfig, EndpointTarget } from '../domain/cluster';
import type { ActionReport } from './cluster-store';

/** How one {@link EndpointActuator.pointAt} call may act. */
export interface PointAtOptions {
  /** Only observe and compare: report `planned` / `in_place`, change nothing (the guard is never asked). */
  plan?: boolean;
  /**
   * Fencing: asked right before each mutating AWS call (and between `GetChange` polls while waiting for Route 53
   * INSYNC). `true` means "the epoch this move works for is still the newest": go on. `false` means a newer epoch was
   * committed meanwhile: that mutation is not made (or the wait stops) and the target is reported `superseded`. A
   * guard that throws fails its target (`GuardFailed`) and no mutation is made. Without a guard every mutation goes on.
   */
  guard?: () => Promise<boolean>;
  /**
   * What each target (by its report's `target`) was last verified pointing at, from the previous convergence. A
   * mechanism whose mutation is idempotent may act on it without reading first when EVERY target is known and none
   * already points where it should (a new primary: each one differs for sure), saving the Describe round trip on a
   * failover; the read-back still verifies the change. Anything else (a target unknown, or known to be right) is
   * observed first as usual, so drift is never hidden behind a stale memory. Reconcile passes none.
   */
  known?: ReadonlyMap<string, string | null>;
  /**
   * Targets (by report `target`) to point again even when a read says they already point right: a pass working for
   * an older epoch may have changed them after the newer epoch's own move, and EC2's Describe can still show the value
   * from before that late change for about a second. Only a mechanism whose mutation is idempotent honours it (the
   * same ones as `known`); the others read and compare as usual. `'all'`: every target (until an epoch has
   * converged once, see `converge`).
   */
  reassert?: ReadonlySet<string> | 'all';
}

/**
 * Moves one mechanism of a cluster's endpoint to a node. Observe, compare, act: reads what is, changes only what
 * differs, and is safe to re-run. Never throws for a failed target: each target's outcome is a report, so one
 * failed route table does not stop the others.
 */
export interface EndpointActuator {
  /**
   * Point this mechanism's configured targets at `target` (returns `[]` when the mechanism is not configured): one
   * report per target, `moved` / `created` only once the change was made (and, where the mechanism verifies, read
   * back). Targets already right are `in_place` and get no mutating call, unless `reassert` names them (then `moved`,
   * with `from` = `to`). Not atomic across targets (except Route 53's writer and reader, which change in one batch); a
   * partial failure is reported per target and healed by a re-run.
   */
  pointAt(endpoints: EndpointConfig, target: EndpointTarget, options?: PointAtOptions): Promise<ActionReport[]>;
}
