import type { Page } from '../ports/alerter';
import type { ActionReport, JournalEntry } from '../ports/cluster-store';

/** Repmgr faults that mean a failover did not happen: critical, not a warning. */
const CRITICAL_FAULTS = new Set(['repmgrd_failover_aborted', 'repmgrd_promote_error']);

/**
 * The page a journal entry calls for, or null. `processEvent` marks such entries (`page: true`) and the actuator sends
 * the page after the answer, so no SNS latency reaches the hook's caller.
 */
export function pageForEntry(entry: JournalEntry): Page | null {
  const { event } = entry;
  const details = entry.details ?? {};
  switch (entry.outcome) {
    case 'ignored':
      if (details.kind === 'role_disagreement') return roleDisagreementPage(entry);
      return {
        severity: CRITICAL_FAULTS.has(event.type) ? 'critical' : 'warning',
        cluster: entry.cluster,
        type: event.type,
        subject: `vipswitch ${entry.cluster}: ${event.type} on ${event.node}`,
        message: `${event.source} reported ${event.type}${event.success ? '' : ' (failed)'} on ${event.node}: ${event.details || '(no details)'}`,
        details: { eventId: event.id, node: event.node, success: event.success },
      };
    case 'stale_claim': {
      const current = details.current as { primary: string | null; epoch?: number } | undefined;
      return {
        severity: 'critical',
        cluster: entry.cluster,
        type: 'stale_claim',
        subject: `vipswitch ${entry.cluster}: stale primary claim from ${event.node} (possible split brain)`,
        message: `${entry.reason}. The endpoint stays on ${current?.primary ?? 'no node'}. ${fencingSummary(details.fencing)}`,
        // the holder's epoch: the de-duplication key has it, so a node that comes back stale after a NEWER failover
        // pages again inside the window (R5 found the second one counted as a repeat), while one that flaps against
        // the same holder pages once
        details: { eventId: event.id, node: event.node, claimedTimeline: details.claimedTimeline, current, epoch: current?.epoch, fencing: details.fencing },
      };
    }
    case 'unverified_claim':
      return {
        severity: 'critical',
        cluster: entry.cluster,
        type: 'unverified_claim',
        subject: `vipswitch ${entry.cluster}: unverified primary claim from ${event.node}`,
        message: entry.reason,
        details: { eventId: event.id, node: event.node, type: event.type },
      };
    case 'system_identifier_mismatch':
      return {
        severity: 'critical',
        cluster: entry.cluster,
        type: 'system_identifier_mismatch',
        subject: `vipswitch ${entry.cluster}: ${event.node} reports another cluster's system identifier`,
        message: entry.reason,
        details: { eventId: event.id, node: event.node, expected: details.expected, got: details.got },
      };
    case 'fencing_action':
      // An operator's unfence (the fences themselves are told in their stale claim's page).
      return entry.type === 'unisolate_eni' ? unfencePage(entry) : null;
    default:
      return null;
  }
}

/** What the fencing policy did, in words on-call can act on (the actuator fills in the result before paging). */
/**
 * `role_disagreement`: keepalived made a node MASTER while its PostgreSQL is in recovery (a lost equal-priority race,
 * a partition, a priority change: shared/peers/keepalived/findings.md §8). Nothing moved; a warning, since the real
 * primary keeps the endpoint, but keepalived's view (and the VIP it holds on that host) is wrong until it changes.
 */
function roleDisagreementPage(entry: JournalEntry): Page {
  const { event } = entry;
  const details = entry.details ?? {};
  const current = details.current as { primary: string | null; timeline: number; epoch: number } | undefined;
  return {
    severity: 'warning',
    cluster: entry.cluster,
    type: 'role_disagreement',
    subject: `vipswitch ${entry.cluster}: ${event.source} and PostgreSQL disagree on ${event.node}`,
    message: `${entry.reason}. Nothing moved. ${event.source} reported: ${event.details || event.type}.`,
    details: { eventId: event.id, node: event.node, transition: event.type, facts: details.facts ?? event.facts, current },
  };
}

/** `vipswitch unfence`: a node's network was given back (or could not be). */
function unfencePage(entry: JournalEntry): Page {
  const d = (entry.details ?? {}) as { result?: string; eni?: string; groups?: string[]; operator?: string; step?: string; error?: { code?: string } };
  const failed = d.result === 'failed';
  return {
    severity: failed ? 'critical' : 'warning',
    cluster: entry.cluster,
    type: failed ? 'unfence_failed' : 'unfenced',
    subject: `vipswitch ${entry.cluster}: ${entry.node} ${failed ? 'could NOT be unfenced' : 'unfenced'} by ${d.operator ?? 'an operator'}`,
    message: `${entry.reason}.`,
    details: { eventId: entry.eventId, node: entry.node, eni: d.eni, result: d.result, groups: d.groups, step: d.step, error: d.error },
  };
}

function fencingSummary(fencing: unknown): string {
  const f = (fencing ?? {}) as { policy?: string; result?: string; instanceId?: string; eni?: string; securityGroupId?: string; originalGroups?: string[] | null; step?: string; why?: string; error?: { code?: string; message?: string } };
  const policy = f.policy ?? 'alert';
  if (policy === 'alert') return 'Policy: alert only.';
  switch (f.result) {
    case 'stopped':
      return `Fenced: instance ${f.instanceId ?? '?'} stopped (Force).`;
    case 'isolated':
      return `Fenced: ENI ${f.eni ?? '?'} isolated (security groups ${(f.originalGroups ?? []).join(', ') || '(none)'} swapped for ${f.securityGroupId ?? '?'}, the originals kept in its vipswitch:original-groups tag); after the node's rejoin: vipswitch unfence.`;
    case 'already_isolated':
      return `Fenced: ENI ${f.eni ?? '?'} was already isolated (${f.securityGroupId ?? '?'}).`;
    case 'failed':
      return `Fencing FAILED (${policy}${f.step ? `, at ${f.step}` : ''}): ${f.error?.code ?? 'error'} ${f.error?.message ?? ''}`.trim();
    case 'skipped':
      return `Not fenced (${policy}): ${f.why ?? 'skipped'}.`;
    default:
      return `Policy: ${policy}, not carried out yet.`;
  }
}

/** The endpoint could not be pointed at the newest epoch's holder (after the commit, or on a reconcile pass). */
export function actuationFailedPage(cluster: string, primary: string | null, epoch: number, actions: ActionReport[], origin: 'commit' | 'reconcile'): Page {
  const failed = actions.filter((a) => a.result === 'failed');
  return {
    severity: 'critical',
    cluster,
    type: 'actuation_failed',
    subject: origin === 'commit' ? `vipswitch ${cluster}: endpoint move incomplete` : `vipswitch ${cluster}: endpoint does not converge`,
    message: `${failed.length} target(s) not pointed at ${primary ?? 'the primary'} (epoch ${epoch}): ${failed.map((a) => `${a.target}: ${a.error?.code}`).join('; ')}; retried, then reconcile`,
    details: { epoch, actions },
  };
}

/** Reconcile found targets not pointing at the newest epoch's holder, and moved them back. */
export function driftRepairedPage(cluster: string, primary: string | null, epoch: number, actions: ActionReport[]): Page {
  const changed = actions.filter((a) => a.result === 'moved' || a.result === 'created').length;
  return {
    severity: 'warning',
    cluster,
    type: 'drift_repaired',
    subject: `vipswitch ${cluster}: endpoint drift repaired`,
    message: `${changed} target(s) did not point at ${primary} and were moved back`,
    details: { actions, epoch },
  };
}

/** The stream trigger gave up on a batch after its retries (the on-failure destination). */
export function triggerFailedPage(cluster: string, detail: string): Page {
  return {
    severity: 'critical',
    cluster,
    type: 'actuator_trigger_failed',
    subject: `vipswitch ${cluster}: actuator gave up after its retries`,
    message: `${detail}; reconcile will repair the endpoint on its next pass`,
  };
}
