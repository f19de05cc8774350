import type { WatchdogFacts } from './event';

/**
 * `pcp_watchdog_info -v` (Pgpool-II 4.3), parsed. The verbose form is the one to read: the one-line form has no quorum
 * field and node names contain spaces (shared/peers/pgpool/findings.md §6).
 *
 * ```
 * Watchdog Cluster Information
 * Total Nodes              : 3
 * ...
 * Quorum state             : QUORUM EXIST
 * Local node escalation    : YES
 * Leader Node Name         : 127.0.0.1:29990 Linux vm
 * Leader Host Name         : 127.0.0.1
 *
 * Watchdog Node Information
 * Node Name         : 127.0.0.1:29990 Linux vm     <- always the LOCAL node first
 * ...
 * Status Name       : LEADER
 * ```
 */
export interface WatchdogInfo {
  /** The "Watchdog Cluster Information" fields, by name as printed (`Quorum state`, `Local node escalation`, ...). */
  cluster: Record<string, string>;
  /** One record per "Node Name" block, the local node first. */
  nodes: Record<string, string>[];
}

/**
 * Parse the verbose output. Keys end at the first `:` (values contain colons: `127.0.0.1:29990 Linux vm`); both are
 * trimmed. Returns null unless it has the cluster section, the four fields the facts need and at least one node.
 */
export function parseWatchdogInfo(stdout: string): WatchdogInfo | null {
  const cluster: Record<string, string> = {};
  const nodes: Record<string, string>[] = [];
  let section: 'none' | 'cluster' | 'nodes' = 'none';
  for (const raw of stdout.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line === 'Watchdog Cluster Information') {
      section = 'cluster';
      continue;
    }
    if (line === 'Watchdog Node Information') {
      section = 'nodes';
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) return null;
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (section === 'cluster') cluster[key] = value;
    else if (section === 'nodes') {
      if (key === 'Node Name') nodes.push({});
      const node = nodes[nodes.length - 1];
      if (node === undefined) return null;
      node[key] = value;
    } else return null;
  }
  const needed = ['Quorum state', 'Local node escalation', 'Leader Node Name'];
  if (needed.some((key) => cluster[key] === undefined) || nodes.length === 0 || nodes[0]!['Status Name'] === undefined) return null;
  return { cluster, nodes };
}

/**
 * The four conditions that held at every real `if_up_cmd` / `wd_escalation_command` (findings §8), and only there:
 * `QUORUM EXIST`, local escalation `YES`, the leader is the first (local) node, whose state is `LEADER`, and enough
 * alive remote nodes for the quorum. `LEADER` alone proves nothing: after a quorum loss or a thaw (scenarios d, g2, h)
 * the node stays `LEADER` with `QUORUM ABSENT` and escalation `NO`. `token` is left null: the hook mints it.
 */
export function watchdogFacts(info: WatchdogInfo): WatchdogFacts {
  const local = info.nodes[0]!;
  const alive = Number(info.cluster['Alive Remote Nodes']);
  const required = Number(info.cluster['Nodes required for quorum']);
  const enough = !Number.isInteger(alive) || !Number.isInteger(required) || alive >= required - 1;
  const quorumState = info.cluster['Quorum state'] ?? null;
  return {
    leader: local['Status Name'] === 'LEADER' && info.cluster['Leader Node Name'] === local['Node Name'],
    quorum: quorumState === 'QUORUM EXIST' && enough,
    escalated: info.cluster['Local node escalation'] === 'YES',
    token: null,
    localState: local['Status Name'] ?? null,
    quorumState,
  };
}

/** Leader, with quorum, escalated: the only node whose claim may move the endpoint. */
export function isQuorumBackedLeader(facts: Pick<WatchdogFacts, 'leader' | 'quorum' | 'escalated'>): boolean {
  return facts.leader && facts.quorum && facts.escalated;
}

/** Why a watchdog view is not the quorum-backed leader's, for reasons and pages: `QUORUM ABSENT, escalation NO`. */
export function describeWatchdogFacts(facts: WatchdogFacts): string {
  const parts: string[] = [];
  parts.push(`state ${facts.localState ?? '?'}${facts.leader ? ' (leader)' : ' (not the leader)'}`);
  parts.push(facts.quorumState ?? (facts.quorum ? 'quorum' : 'no quorum'));
  parts.push(`escalation ${facts.escalated ? 'YES' : 'NO'}`);
  return parts.join(', ');
}
