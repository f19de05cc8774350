import { endpointView } from '../../../shared/app/endpoint-view';
import type { JournalEntry, LoadedCluster } from '../../../shared/ports/cluster-store';
import type { CliContext } from '../context';
import { EXIT, FailedError, type ExitCode } from '../errors';
import { ago, table } from '../format';
import type { Io, Output } from '../output';

/** How many journal entries are read to find each node's last event. */
const JOURNAL_DEPTH = 200;

/** The newest journal entry per node that the node's own hook sent (operator confirmations are not "seen"). */
export function lastSeen(journal: JournalEntry[]): Map<string, JournalEntry> {
  const seen = new Map<string, JournalEntry>();
  for (const entry of journal) {
    if (entry.event?.source === 'operator' || entry.outcome === 'operator_confirmed' || entry.outcome === 'fencing_action') continue;
    const known = seen.get(entry.node);
    if (known === undefined || entry.receivedAt > known.receivedAt) seen.set(entry.node, entry);
  }
  return seen;
}

/** One cluster as the CLI shows it (no key, ever). */
export function clusterView(loaded: LoadedCluster, journal: JournalEntry[]) {
  const { config, state } = loaded.record;
  const seen = lastSeen(journal);
  return {
    cluster: config,
    state,
    nodes: loaded.nodes.map(({ hookKey: _key, hookKeyNext, hookKeyNextAt, ...node }) => ({
      ...node,
      role: node.name === state.primary ? 'primary' : 'standby',
      lastSeen: seen.get(node.name)?.receivedAt ?? null,
      lastEvent: seen.get(node.name)?.type ?? null,
      keyRotation: typeof hookKeyNext === 'string' ? { since: hookKeyNextAt ?? null } : null,
    })),
    endpoint: endpointView(state.epoch, loaded.targets),
  };
}

/** `vipswitch status`: the fleet (every registered cluster), like `repmgr cluster show`. */
export async function fleetStatus(ctx: CliContext, out: Output, io: Io): Promise<ExitCode> {
  const names = await ctx.store.listClusters();
  const rows = [];
  for (const name of names) {
    const [loaded, journal] = await Promise.all([ctx.store.loadCluster(name), ctx.store.readJournal(name, 1)]);
    if (loaded === null) continue;
    const { state } = loaded.record;
    const endpoint = endpointView(state.epoch, loaded.targets);
    const health = (h: string) => loaded.nodes.filter((n) => n.health === h).length;
    rows.push({
      cluster: name,
      primary: state.primary,
      timeline: state.timeline,
      epoch: state.epoch,
      appliedEpoch: state.appliedEpoch,
      endpoint: endpoint.phase,
      nodes: loaded.nodes.length,
      health: { primary: health('primary'), replica: health('replica'), failed: health('failed'), stopped: health('stopped'), unknown: health('unknown') },
      fenced: loaded.nodes.filter((n) => n.fenced).map((n) => n.name),
      lastEventAt: journal[0]?.receivedAt ?? null,
    });
  }
  out.result({ ok: true, table: ctx.stage.state, clusters: rows });
  if (rows.length === 0) {
    out.line(`no clusters registered in ${ctx.stage.state} (vipswitch apply -f cluster.yaml)`);
    return EXIT.ok;
  }
  const now = io.now();
  out.line(
    table(
      ['Cluster', 'Primary', 'Timeline', 'Epoch', 'Applied', 'Endpoint', 'Nodes', 'Health', 'Last event'],
      rows.map((r) => [
        r.cluster,
        r.primary,
        r.timeline,
        r.epoch,
        r.appliedEpoch,
        r.endpoint,
        r.nodes,
        Object.entries(r.health)
          .filter(([, n]) => n > 0)
          .map(([h, n]) => `${n} ${h}`)
          .join(', ') + (r.fenced.length ? `, fenced: ${r.fenced.join(' ')}` : ''),
        ago(r.lastEventAt, now),
      ]),
    ),
  );
  return EXIT.ok;
}

/** `vipswitch status <cluster>`: nodes, roles, health, last seen, and each target's desired vs observed. */
export async function clusterStatus(ctx: CliContext, out: Output, io: Io, cluster: string): Promise<ExitCode> {
  const [loaded, journal] = await Promise.all([ctx.store.loadCluster(cluster), ctx.store.readJournal(cluster, JOURNAL_DEPTH)]);
  if (loaded === null) throw new FailedError('unknown_cluster', `cluster ${cluster} is not registered in ${ctx.stage.state}`);
  const view = clusterView(loaded, journal);
  out.result({ ok: true, ...view });
  const now = io.now();
  const { state, cluster: config } = view;
  out.line(`${cluster} (${config.tool}): primary ${state.primary ?? 'none yet'}, timeline ${state.timeline}, epoch ${state.epoch} (applied ${state.appliedEpoch}), system id ${state.systemIdentifier ?? '-'}, fencing ${config.fencing}${config.dryRun ? ', DRY RUN' : ''}`);
  out.line();
  out.line(
    table(
      ['Node', 'Role', 'Health', 'Last seen', 'Last event', 'ENI', 'Instance', 'Private IP', 'Notes'],
      view.nodes.map((n) => [
        n.name,
        n.role,
        n.health ?? 'unknown',
        ago(n.lastSeen, now),
        n.lastEvent,
        n.eni,
        n.instanceId,
        n.privateIp,
        [n.fenced ? 'FENCED' : '', n.keyRotation ? `key rotation since ${n.keyRotation.since ?? '?'}` : ''].filter(Boolean).join('; '),
      ]),
    ),
  );
  out.line();
  const e = view.endpoint;
  out.line(`endpoint: ${e.phase} for epoch ${e.epoch}${e.since ? ` since ${e.since}` : ''}${e.at ? ` (last update ${e.at})` : ''}`);
  if (e.targets.length > 0) {
    out.line(table(['Mechanism', 'Target', 'Desired', 'Observed', 'State'], e.targets.map((t) => [t.mechanism, t.target, t.desired, t.observed, `${t.state}${t.error ? ` (${t.error.code})` : ''}`])));
  }
  return EXIT.ok;
}
