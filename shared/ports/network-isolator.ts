/** What went wrong at one step of an isolation or a restore (AWS error code and a client-safe message). */
export interface IsolationFailure {
  ok: false;
  /** The step that failed: `read`, `backup`, `verify_backup`, `swap`, `verify`, `cleanup`. Earlier steps stand. */
  step: 'read' | 'backup' | 'verify_backup' | 'swap' | 'verify' | 'cleanup';
  error: { code: string; message: string };
}

export type IsolateOutcome =
  | {
      ok: true;
      /** `isolated`: swapped now; `already_isolated`: the ENI held only the isolating group already (nothing done). */
      result: 'isolated' | 'already_isolated';
      /** The groups kept in the ENI's tags (what `restore` puts back); null when none could be recorded. */
      originalGroups: string[] | null;
      /** The ENI's groups as read back. */
      groups: string[];
    }
  | IsolationFailure;

export type RestoreOutcome =
  | {
      ok: true;
      /** `restored`: the recorded groups are back; `not_isolated`: no record on the ENI, nothing done. */
      result: 'restored' | 'not_isolated';
      /** The groups the ENI held before (the isolating group) and holds now. */
      from: string[];
      groups: string[];
    }
  | IsolationFailure;

/**
 * Network fencing of a node without a reboot (the `isolate` policy), as ClusterLabs' `fence_aws_vpc_net` does: the
 * node's ENI security groups are swapped for one isolating group, and its original groups are kept in tags on the ENI
 * so the node can be unfenced after its rejoin.
 *
 * Contract: never throws (the outcome is returned, so a failed step is journaled and paged like a success). Idempotent:
 * isolating an isolated ENI keeps the groups recorded the first time (never overwritten by the isolating group);
 * restoring an ENI with no record does nothing. The record is written and read back BEFORE the swap, so the original
 * groups are never lost; the tags are removed only AFTER a verified restore. Not atomic across steps: a failure leaves
 * the earlier steps in place, and re-running completes it.
 */
export interface NetworkIsolator {
  isolate(eni: string, isolationGroupId: string, note: string): Promise<IsolateOutcome>;
  restore(eni: string): Promise<RestoreOutcome>;
}
