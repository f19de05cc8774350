import { listClusterSummaries, parseListQuery, type ClusterSummary } from '../../../shared/app/cluster-list';
import { endpointView } from '../../../shared/app/endpoint-view';
import type { JournalEntry, LoadedCluster } from '../../../shared/ports/cluster-store';
import type { CliContext } from '../context';
import { EXIT, FailedError, type ExitCode } from '../errors';
import { apiLocation, fetchFleet } from '../fleet-api';
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

/** Clusters a page when the fleet is read from the table (no API URL for the stage). */
const TABLE_PAGE = 100;

/** The fleet read from the table with the fleet API's own code, a page at a time (a deployed stage without --api). */
async function fleetFromTable(ctx: CliContext): Promise<ClusterSummary[]> {
  const clusters: ClusterSummary[] = [];
  let page = await listClusterSummaries(ctx.store, { limit: TABLE_PAGE, after: null }, new Date());
  clusters.push(...page.clusters);
  while (page.next !== null) {
    page = await listClusterSummaries(ctx.store, parseListQuery({ limit: String(TABLE_PAGE), next: page.next }), new Date());
    clusters.push(...page.clusters);
  }
  return clusters;
}

/**
 * `vipswitch status`: the fleet, one row per cluster, from `GET /v1/clusters` (every page) when the stage's API URL is
 * known (`--api`, VIPSWITCH_API_URL, VIPSWITCH_API; the local stage's default port), else from the table through the
 * same code the API runs. Either way the rows are the fleet API's summaries: primary, timeline, epochs, endpoint,
 * last failover, pages in the last 24 hours.
 */
export async function fleetStatus(ctx: CliContext, out: Output, io: Io, options: { api?: string } = {}): Promise<ExitCode> {
  const api = apiLocation(ctx.stage.stage, options.api, io.env);
  const clusters = api === null ? await fleetFromTable(ctx) : await fetchFleet({ api, env: io.env });
  const source = api === null ? { source: 'table', table: ctx.stage.state } : { source: 'api', api: api.url };
  out.result({ ok: true, ...source, clusters });
  const where = api === null ? `table ${ctx.stage.state} (no API URL for stage ${ctx.stage.stage}: --api <url> or VIPSWITCH_API_URL reads GET /v1/clusters)` : `${api.url}/v1/clusters`;
  if (clusters.length === 0) {
    out.line(`no clusters registered (${where}; vipswitch apply -f cluster.yaml)`);
    return EXIT.ok;
  }
  const now = io.now();
  out.line(
    table(
      ['Cluster', 'Tool', 'Primary', 'Timeline', 'Epoch', 'Applied', 'Endpoint', 'Last failover', 'Pages 24h'],
      clusters.map((c) => [c.cluster, c.tool, c.primary, c.timeline, c.epoch, c.appliedEpoch, c.endpoint.phase, ago(c.lastFailover, now), c.pages.last24h]),
    ),
  );
  const unsettled = clusters.filter((c) => !c.converged).length;
  out.line(`${clusters.length} cluster(s)${unsettled > 0 ? `, ${unsettled} not converged` : ''}, from ${where}; nodes and their health: vipswitch status <cluster>`);
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
