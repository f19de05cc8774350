import type { ClusterConfig, NodeRecord } from '../domain/cluster';
import type { ClusterStore, JournalEntry } from '../ports/cluster-store';
import type { DoctorProbe, DryRunCall, DryRunResult, Tags } from '../ports/doctor-probe';

/**
 * `vipswitch doctor <cluster>`: pre-flight checks of everything a failover will need, against the real APIs, before
 * the outage finds out. Reads and dry runs only: nothing is changed. Each check passes or fails, and a failure says
 * the fix to apply. The Pacemaker agents' users trip over exactly these: source/dest check left on, a /32 route that
 * must exist, a missing tag the IAM condition needs, a hosted zone without the record.
 *
 * The dry runs prove the permissions of the credentials doctor runs with: run it as the actuator's role (e.g. an
 * AWS_PROFILE that assumes it) to prove the Lambdas' IAM.
 */

/** The tag serverless.yml's IAM conditions require on every resource vipswitch changes. */
export const CLUSTER_TAG = 'vipswitch:cluster';
/** Longest writer / reader TTL doctor calls sane: clients keep the old primary's address this long after a move. */
export const MAX_SANE_TTL_SECONDS = 60;
/** Default for "heard from recently": the newest hook event of each node must be younger than this. */
export const DEFAULT_HOOK_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

export interface DoctorCheck {
  /** Stable id, e.g. `source-dest-check`, `dry-run:ReplaceRoute`. */
  id: string;
  title: string;
  ok: boolean;
  /** What was found (ids, where things point). */
  detail: string;
  /** For a failure: what to do, as commands where there is one. */
  fix?: string;
  /** The check could not reach AWS (network, timeout): it says nothing about the cluster. */
  unreachable?: boolean;
}

export interface DoctorReport {
  cluster: string;
  checks: DoctorCheck[];
  passed: number;
  failed: number;
  ok: boolean;
  /** Some check failed because AWS (or DynamoDB) could not be reached. */
  unreachable: boolean;
}

export interface DoctorDeps {
  store: Pick<ClusterStore, 'loadCluster' | 'readJournal'>;
  probe: DoctorProbe;
  now: () => Date;
  /** Classifies an error as "not reachable" (network, timeout) rather than an answer. */
  isUnreachable: (error: unknown) => boolean;
}

export interface DoctorOptions {
  /** The pages topic's name (shared/config/names.ts), looked up in the account; or its ARN. */
  pagesTopic: { name: string } | { arn: string };
  /** Newest hook event per node must be younger than this (default 7 days). */
  hookMaxAgeMs?: number;
  /** How many journal entries to read looking for each node's newest event. */
  journalDepth?: number;
}

type Check = Omit<DoctorCheck, 'ok'> & { ok: boolean };

/**
 * Run every check that applies to the cluster's endpoint config and fencing policy. Never throws for what it finds;
 * a failing read becomes a failed check naming the error (and `unreachable` when AWS could not be reached).
 */
export async function runDoctor(deps: DoctorDeps, cluster: string, options: DoctorOptions): Promise<DoctorReport> {
  const checks: Check[] = [];
  const loaded = await deps.store.loadCluster(cluster);
  if (loaded === null) {
    checks.push({ id: 'registered', title: 'cluster registered', ok: false, detail: `${cluster} is not registered in this stage's state table`, fix: `vipswitch apply -f cluster.yaml (or pass the right --stage / AWS_REGION)` });
    return report(cluster, checks);
  }
  const { config, state } = loaded.record;
  const nodes = loaded.nodes.map(({ hookKey: _k, hookKeyNext: _n, ...n }) => n as NodeRecord);
  checks.push({
    id: 'registered',
    title: 'cluster registered',
    ok: nodes.length > 0,
    detail: `${nodes.length} nodes (${nodes.map((n) => n.name).join(', ')}), primary ${state.primary ?? 'none yet'}, epoch ${state.epoch}`,
    ...(nodes.length === 0 ? { fix: 'list the nodes in cluster.yaml and apply it again' } : {}),
  });
  const guarded = async (id: string, title: string, body: () => Promise<Omit<Check, 'id' | 'title'>>) => {
    try {
      checks.push({ id, title, ...(await body()) });
    } catch (error) {
      const unreachable = deps.isUnreachable(error);
      checks.push({ id, title, ok: false, detail: `${unreachable ? 'not reachable' : 'read failed'}: ${describe(error)}`, fix: unreachable ? 'check the network path and the AWS endpoint (AWS_REGION, AWS_ENDPOINT_URL_*)' : 'check the credentials doctor runs with may Describe these resources', ...(unreachable ? { unreachable } : {}) });
    }
  };
  const label = labeller(nodes);

  const { routeTables, elasticIp, secondaryIp, route53 } = config.endpoints;
  const untagged: string[] = [];
  const tagged: string[] = [];
  const noteTags = (resource: string, tags: Tags) => (CLUSTER_TAG in tags ? tagged : untagged).push(resource);

  if (routeTables) {
    const destination = `${routeTables.vip}/32`;
    const tables = new Map<string, Awaited<ReturnType<DoctorProbe['routeTable']>>>();
    await guarded('route', `route ${destination}`, async () => {
      const lines: string[] = [];
      const fixes: string[] = [];
      for (const id of routeTables.routeTableIds) {
        const table = await deps.probe.routeTable(id);
        tables.set(id, table);
        if (table === null) {
          lines.push(`${id}: NO SUCH ROUTE TABLE`);
          fixes.push(`fix routeTables.routeTableIds in cluster.yaml (${id} does not exist in this account and region)`);
          continue;
        }
        noteTags(`${id} (route table)`, table.tags);
        const route = table.routes.find((r) => r.destinationCidrBlock === destination);
        if (route === undefined) lines.push(`${id}: missing, the first move creates it (CreateRoute)`);
        else if (route.origin === 'EnableVgwRoutePropagation') {
          lines.push(`${id}: PROPAGATED from ${route.target ?? 'a virtual private gateway'} (vipswitch cannot move it)`);
          const primary = nodes.find((n) => n.name === state.primary) ?? nodes[0];
          fixes.push(`add a static route, which takes priority over the propagated one: aws ec2 create-route --route-table-id ${id} --destination-cidr-block ${destination} --network-interface-id ${primary?.eni ?? '<primary ENI>'}`);
        } else lines.push(`${id}: static, on ${label(route.target)}${route.state === 'blackhole' ? ' (blackhole: the next move repairs it)' : ''}`);
      }
      return { ok: fixes.length === 0, detail: lines.join('; '), ...(fixes.length ? { fix: fixes.join('\n') } : {}) };
    });
    await guarded('dry-run:route', 'ReplaceRoute / CreateRoute (dry run)', async () => {
      const calls: DryRunCall[] = [];
      for (const id of routeTables.routeTableIds) {
        const table = tables.get(id);
        if (table === null || table === undefined) continue;
        const exists = table.routes.some((r) => r.destinationCidrBlock === destination);
        for (const n of nodes) calls.push({ action: exists ? 'ReplaceRoute' : 'CreateRoute', routeTableId: id, destinationCidrBlock: destination, networkInterfaceId: n.eni });
      }
      return dryRuns(calls, (c) => `${c.action} ${(c as { routeTableId: string }).routeTableId} -> ${label((c as { networkInterfaceId: string }).networkInterfaceId)}`, 'ec2:ReplaceRoute and ec2:CreateRoute on arn:aws:ec2:<region>:<account>:route-table/<id>', deps.probe, `${routeTables.routeTableIds.length} route table(s) for ${nodes.length} nodes' ENIs`);
    });
    await guarded('source-dest-check', 'source/dest check off on the ENIs', async () => {
      const on: string[] = [];
      const missing: string[] = [];
      for (const n of nodes) {
        const check = await deps.probe.sourceDestCheck(n.eni);
        if (check === null) missing.push(label(n.eni));
        else if (check) on.push(n.eni);
      }
      const fixes = [
        ...on.map((eni) => `aws ec2 modify-network-interface-attribute --network-interface-id ${eni} --no-source-dest-check`),
        ...missing.map((eni) => `fix the node's eni in cluster.yaml: ${eni} does not exist`),
      ];
      return {
        ok: fixes.length === 0,
        detail: fixes.length === 0 ? `off on ${nodes.map((n) => label(n.eni)).join(', ')}` : [on.length ? `ON for ${on.map(label).join(', ')}: the instance drops packets for the VIP` : '', missing.length ? `no such ENI: ${missing.join(', ')}` : ''].filter(Boolean).join('; '),
        ...(fixes.length ? { fix: fixes.join('\n') } : {}),
      };
    });
  }

  if (elasticIp || secondaryIp) {
    await guarded('network-interfaces', "the nodes' ENIs", async () => {
      const enis = await Promise.all(nodes.map(async (n) => ({ n, eni: await deps.probe.networkInterface(n.eni) })));
      const missing = enis.filter((e) => e.eni === null).map((e) => label(e.n.eni));
      for (const { n, eni } of enis) if (eni) noteTags(`${label(n.eni)} (network interface)`, eni.tags);
      const subnets = new Set(enis.map((e) => e.eni?.subnetId).filter(Boolean));
      const problems: string[] = [];
      const fixes: string[] = [];
      if (missing.length) {
        problems.push(`no such ENI: ${missing.join(', ')}`);
        fixes.push("fix the nodes' eni in cluster.yaml");
      }
      if (secondaryIp && subnets.size > 1) {
        problems.push(`the secondary IP ${secondaryIp.address} can only move within one subnet, the ENIs are in ${[...subnets].join(', ')}`);
        fixes.push('put every node ENI in one subnet, or use the route-table or Route 53 mechanism instead');
      }
      const note = secondaryIp ? `; AssignPrivateIpAddresses has no DryRun in the EC2 API, so its permission shows at the first move (the tags its IAM condition needs are checked below)` : '';
      return { ok: problems.length === 0, detail: problems.length ? problems.join('; ') : `${nodes.length} ENIs found${secondaryIp ? `, one subnet (${[...subnets].join('')})` : ''}${note}`, ...(fixes.length ? { fix: fixes.join('\n') } : {}) };
    });
  }

  if (elasticIp) {
    await guarded('dry-run:AssociateAddress', `AssociateAddress ${elasticIp.allocationId} (dry run)`, async () => {
      const address = await deps.probe.address(elasticIp.allocationId);
      if (address === null) return { ok: false, detail: `no Elastic IP ${elasticIp.allocationId}`, fix: 'fix endpoints.elasticIp.allocationId in cluster.yaml (aws ec2 describe-addresses)' };
      noteTags(`${elasticIp.allocationId} (Elastic IP)`, address.tags);
      const calls: DryRunCall[] = nodes.map((n) => ({ action: 'AssociateAddress', allocationId: elasticIp.allocationId, networkInterfaceId: n.eni }));
      return dryRuns(calls, (c) => `AssociateAddress -> ${label((c as { networkInterfaceId: string }).networkInterfaceId)}`, 'ec2:AssociateAddress on the elastic-ip and network-interface resources', deps.probe, `for ${nodes.length} nodes' ENIs`);
    });
  }

  if (config.fencing === 'stop-instance') {
    await guarded('dry-run:StopInstances', 'StopInstances for fencing (dry run)', async () => {
      const withInstance = nodes.filter((n) => n.instanceId !== null);
      for (const n of withInstance) {
        const x = await deps.probe.instance(n.instanceId!);
        if (x) noteTags(`${n.instanceId} (instance of ${n.name})`, x.tags);
      }
      const calls: DryRunCall[] = withInstance.map((n) => ({ action: 'StopInstances', instanceId: n.instanceId! }));
      const result = await dryRuns(calls, (c) => `StopInstances ${(c as { instanceId: string }).instanceId}`, 'ec2:StopInstances on arn:aws:ec2:<region>:<account>:instance/<id>', deps.probe, `for ${withInstance.length} nodes' instances`);
      const without = nodes.filter((n) => n.instanceId === null).map((n) => n.name);
      if (without.length === 0) return result;
      return { ok: false, detail: `${result.detail}; no instanceId for ${without.join(', ')} (fencing cannot stop them)`, fix: [result.fix, 'set instanceId of every node in cluster.yaml'].filter(Boolean).join('\n') };
    });
  }

  if (routeTables || elasticIp || secondaryIp || config.fencing === 'stop-instance') {
    const ids = untagged.map((r) => r.split(' ')[0]);
    checks.push({
      id: 'tags',
      title: `${CLUSTER_TAG} tags (IAM conditions)`,
      ok: untagged.length === 0,
      detail: untagged.length === 0 ? `on ${tagged.length} resources` : `missing on ${untagged.join(', ')}: the actuator's IAM policy refuses to change them`,
      ...(untagged.length ? { fix: `aws ec2 create-tags --resources ${ids.join(' ')} --tags Key=${CLUSTER_TAG},Value=${config.cluster}` } : {}),
    });
  }

  if (route53) await route53Checks(deps, config, nodes, guarded);

  await guarded('pages-topic', 'pages topic has a confirmed subscription', async () => {
    const arn = 'arn' in options.pagesTopic ? options.pagesTopic.arn : await deps.probe.findTopic(options.pagesTopic.name);
    const name = 'arn' in options.pagesTopic ? options.pagesTopic.arn : options.pagesTopic.name;
    if (arn === null) return { ok: false, detail: `no topic ${name} in this account and region`, fix: 'deploy the stage (serverless deploy), or pass --topic-arn' };
    const subs = await deps.probe.subscriptions(arn);
    if (subs === null) return { ok: false, detail: `no topic ${arn}`, fix: 'deploy the stage (serverless deploy), or pass --topic-arn' };
    if (subs.confirmed.length === 0) {
      return { ok: false, detail: `${arn}: no confirmed subscription${subs.pending ? ` (${subs.pending} pending confirmation)` : ''}: pages reach nobody`, fix: `aws sns subscribe --topic-arn ${arn} --protocol email --notification-endpoint oncall@example.com, then confirm it${subs.pending ? ' (confirm the pending one)' : ''}` };
    }
    return { ok: true, detail: `${arn}: ${subs.confirmed.map((s) => `${s.protocol} ${s.endpoint}`).join(', ')}${subs.pending ? ` (+${subs.pending} pending)` : ''}` };
  });

  await guarded('hooks', 'every node\u2019s hook heard from recently', async () => {
    const maxAge = options.hookMaxAgeMs ?? DEFAULT_HOOK_MAX_AGE_MS;
    const journal = await deps.store.readJournal(cluster, options.journalDepth ?? 500);
    const now = deps.now().getTime();
    const lines: string[] = [];
    const stale: string[] = [];
    for (const n of nodes) {
      const last = newestHookEvent(journal, n.name);
      if (last === null) {
        stale.push(n.name);
        lines.push(`${n.name}: never`);
        continue;
      }
      const age = now - Date.parse(last.receivedAt);
      if (age > maxAge) stale.push(n.name);
      lines.push(`${n.name}: ${formatAge(age)} ago (${last.type})`);
    }
    return {
      ok: stale.length === 0,
      detail: `${lines.join(', ')}${stale.length ? `; nothing from ${stale.join(', ')} in the last ${formatAge(maxAge)}` : ''}`,
      ...(stale.length
        ? { fix: `on ${stale.join(', ')}: run "vipswitch-hook ping" (proves the path and the key), check event_notification_command / the Patroni callbacks call vipswitch-hook, then restart repmgrd or reload Patroni so an event reaches the journal` }
        : {}),
    };
  });

  return report(cluster, checks);
}

type Guarded = (id: string, title: string, body: () => Promise<Omit<Check, 'id' | 'title'>>) => Promise<void>;

async function route53Checks(deps: DoctorDeps, config: ClusterConfig, nodes: NodeRecord[], guarded: Guarded): Promise<void> {
  const r53 = config.endpoints.route53!;
  let zoneOk = false;
  await guarded('hosted-zone', `hosted zone ${r53.hostedZoneId}`, async () => {
    const zone = await deps.probe.hostedZone(r53.hostedZoneId);
    if (zone === null) return { ok: false, detail: `no hosted zone ${r53.hostedZoneId}`, fix: 'fix endpoints.route53.hostedZoneId in cluster.yaml (aws route53 list-hosted-zones)' };
    const inZone = [r53.writerRecord, r53.readerRecord].filter((r): r is string => !!r).filter((r) => !r.toLowerCase().endsWith(zone.name.toLowerCase()));
    if (inZone.length) return { ok: false, detail: `${inZone.join(', ')} not inside ${zone.name}`, fix: 'the records must be names inside the hosted zone: fix writerRecord / readerRecord' };
    zoneOk = true;
    return { ok: true, detail: `${zone.name} (${zone.privateZone ? 'private' : 'public'}); Route 53 has no dry run: ChangeResourceRecordSets shows its permission at the first move` };
  });
  if (!zoneOk) return;
  const records: [string, string][] = [['writer', r53.writerRecord], ...(r53.readerRecord ? ([['reader', r53.readerRecord]] as [string, string][]) : [])];
  for (const [role, name] of records) {
    await guarded(`record:${role}`, `${role} record ${name}`, async () => {
      const set = await deps.probe.recordSet(r53.hostedZoneId, name, 'A');
      const upsert = role === 'writer' ? nodes.find((n) => n.privateIp)?.privateIp ?? '<primary IP>' : '<replica IPs>';
      if (set === null) {
        return {
          ok: false,
          detail: `no A record ${name}: clients cannot resolve the endpoint before the first move`,
          fix: role === 'writer' ? `create it now (vipswitch reconcile ${config.cluster} writes it), or: aws route53 change-resource-record-sets --hosted-zone-id ${r53.hostedZoneId} --change-batch '{"Changes":[{"Action":"UPSERT","ResourceRecordSet":{"Name":"${name}","Type":"A","TTL":${r53.ttl},"ResourceRecords":[{"Value":"${upsert}"}]}}]}'` : `vipswitch reconcile ${config.cluster} writes it from the healthy replicas`,
        };
      }
      const problems: string[] = [];
      if (set.ttl !== null && set.ttl > MAX_SANE_TTL_SECONDS) problems.push(`TTL ${set.ttl} s now: clients keep the old primary's address that long after a move`);
      if (r53.ttl > MAX_SANE_TTL_SECONDS) problems.push(`cluster.yaml route53.ttl ${r53.ttl} s`);
      if (problems.length) return { ok: false, detail: problems.join('; '), fix: `set route53.ttl to at most ${MAX_SANE_TTL_SECONDS} (e.g. 10) in cluster.yaml, apply it, then vipswitch reconcile ${config.cluster}` };
      return { ok: true, detail: `A ${set.values.join(',')} TTL ${set.ttl ?? '?'} s${set.ttl !== r53.ttl ? ` (the next move writes ${r53.ttl} s)` : ''}` };
    });
  }
}

/** Send every dry run; one check line: allowed everywhere, or which calls were denied / failed and why. */
async function dryRuns(calls: DryRunCall[], name: (c: DryRunCall) => string, permission: string, probe: DoctorProbe, scope: string): Promise<Omit<Check, 'id' | 'title'>> {
  if (calls.length === 0) return { ok: true, detail: 'nothing to check' };
  const results: [DryRunCall, DryRunResult][] = [];
  for (const call of calls) results.push([call, await probe.dryRun(call)]);
  const denied = results.filter(([, r]) => r.outcome === 'denied');
  const failed = results.filter(([, r]) => r.outcome === 'error');
  if (denied.length === 0 && failed.length === 0) return { ok: true, detail: `DryRunOperation (allowed) ${scope}` };
  const line = ([c, r]: [DryRunCall, DryRunResult]) => `${name(c)}: ${r.outcome === 'allowed' ? 'allowed' : `${r.code}${r.message ? ` (${r.message.split('. Encoded authorization failure message')[0]!.slice(0, 160)})` : ''}`}`;
  const fixes: string[] = [];
  if (denied.length) fixes.push(`allow ${permission} for the actuator's role; serverless.yml's statements need the ${CLUSTER_TAG} tag on the resource (aws sts decode-authorization-message --encoded-message ... tells which statement refused)`);
  if (failed.length) fixes.push('fix the ids in cluster.yaml: EC2 refused the request itself (see the codes)');
  return { ok: false, detail: [...denied, ...failed].map(line).join('; '), fix: fixes.join('\n') };
}

/** The newest journal entry that came from the node's own hook (not an operator's confirmation nor a fencing record). */
function newestHookEvent(journal: JournalEntry[], node: string): JournalEntry | null {
  let best: JournalEntry | null = null;
  for (const entry of journal) {
    if (entry.node !== node || entry.event?.source === 'operator' || entry.outcome === 'fencing_action' || entry.outcome === 'operator_confirmed') continue;
    if (best === null || entry.receivedAt > best.receivedAt) best = entry;
  }
  return best;
}

function labeller(nodes: NodeRecord[]): (id: string | null) => string {
  const names = new Map<string, string>();
  for (const n of nodes) names.set(n.eni, n.name);
  return (id) => (id === null ? 'nothing' : names.has(id) ? `${id} (${names.get(id)})` : id);
}

function report(cluster: string, checks: Check[]): DoctorReport {
  const failed = checks.filter((c) => !c.ok).length;
  return { cluster, checks, passed: checks.length - failed, failed, ok: failed === 0, unreachable: checks.some((c) => c.unreachable === true) };
}

/** A duration as people read it: 45 s, 12 min, 3 h, 2 d. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s`;
  if (s < 7200) return `${Math.round(s / 60)} min`;
  if (s < 172800) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

function describe(error: unknown): string {
  const e = error as { name?: string; message?: string; code?: string };
  return `${e?.name ?? 'Error'}${e?.code && e.code !== e.name ? ` ${e.code}` : ''}: ${e?.message ?? String(error)}`;
}
