/**
 * The drill's vipswitch cluster: a key per node and a `cluster.yaml` with all four endpoint mechanisms over the
 * example topology, registered the way `vipswitch apply` does; and the wiring of the REAL hook to it.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { applyClusterFile } from '../../apply';
import { loadTopology, type LocalStack } from '../../stack';
import { repoRoot } from '../../root';
import { parseClusterFile } from '../../../shared/config/cluster-config';
import type { EndpointConfig } from '../../../shared/domain/cluster';
import type { HookWiring, NodeInfo } from '../hook';
import type { Timeline } from '../util';
import type { DrillTool } from './drill-types';

export const HOSTED_ZONE = 'Z0123456789ABCDEFGHIJ';

export interface RegisteredNode {
  name: string;
  eni: string;
  privateIp: string;
  instanceId: string;
  key: string;
}

export interface Registration {
  name: string;
  vip: string;
  endpoints: EndpointConfig;
  nodes: RegisteredNode[];
}

/** The harness' node names: repmgr and keepalived (beside repmgr) node1.., Patroni pg1.., Pgpool-II pgpool1.. */
export function nodeName(tool: DrillTool, i: number): string {
  return tool === 'repmgr' || tool === 'keepalived' ? `node${i}` : tool === 'pgpool' ? `pgpool${i}` : `pg${i}`;
}

/**
 * Writes the keys and `cluster.yaml` into `dir` (private to the drill) and registers the cluster. Route 53 waits for
 * INSYNC (`waitForInsync`), bounded by `insyncTimeoutSeconds`: give it more than the endpoint's slowest INSYNC, or
 * the move is reported failed (InsyncTimeout) although it happened.
 */
export async function registerDrillCluster(stack: LocalStack, tool: DrillTool, dir: string, tl: Timeline, options: { insyncTimeoutSeconds: number }): Promise<Registration> {
  const topology = await loadTopology(join(repoRoot(), 'local/topology.example.json'));
  const name = `drill-${tool}-${randomBytes(3).toString('hex')}`;
  const vip = `10.0.${200 + (randomBytes(1)[0]! % 50)}.${1 + (randomBytes(1)[0]! % 250)}`;
  const nodes: RegisteredNode[] = [];
  for (let i = 0; i < 3; i++) {
    const eni = topology.networkInterfaces[i];
    const instance = topology.instances[i];
    if (!eni || !instance) throw new Error(`the example topology has no node ${i + 1}`);
    nodes.push({ name: nodeName(tool, i + 1), eni: eni.networkInterfaceId, privateIp: eni.privateIpAddress, instanceId: instance.instanceId, key: randomBytes(32).toString('hex') });
  }
  for (const n of nodes) await writeFile(join(dir, `${n.name}.key`), `${n.key}\n`, { mode: 0o600 });
  const file = join(dir, 'cluster.yaml');
  const doc = {
    cluster: name,
    tool,
    fencing: 'alert',
    nodes: nodes.map((n, i) => ({ name: n.name, ...(tool === 'repmgr' ? { repmgrNodeId: i + 1 } : {}), eni: n.eni, instanceId: n.instanceId, privateIp: n.privateIp, keyFile: `${n.name}.key` })),
    endpoints: {
      routeTables: { vip, routeTableIds: topology.routeTables.map((t) => t.routeTableId) },
      elasticIp: { allocationId: 'eipalloc-0a1b2c3d4e5f60001' },
      secondaryIp: { address: '10.0.1.100' },
      route53: { hostedZoneId: HOSTED_ZONE, writerRecord: 'writer.db.example.internal.', readerRecord: 'reader.db.example.internal.', ttl: 10, waitForInsync: true, insyncTimeoutSeconds: options.insyncTimeoutSeconds },
    },
  };
  await writeFile(file, toYaml(doc));
  const applied = await applyClusterFile(stack.store, file);
  const { config } = parseClusterFile(parseYaml(await readFile(file, 'utf8')));
  tl.log(
    `registered cluster ${applied.cluster} (${applied.nodes.join(', ')}; VIP ${vip}/32 in ${doc.endpoints.routeTables.routeTableIds.join(', ')}, Elastic IP, secondary IP 10.0.1.100, ` +
      `Route53 writer/reader waiting for INSYNC up to ${options.insyncTimeoutSeconds} s; no system identifier: the first claim pins it)`,
  );
  return { name, vip, endpoints: config.endpoints, nodes };
}

/** The REAL hook (hooks/dist/vipswitch-hook.cjs) posting to the stack; each node's spool and log under its dir. */
export function hookWiring(root: string, stack: LocalStack, reg: Registration): HookWiring {
  const files: Record<string, string> = {};
  for (const n of reg.nodes) files[`keys/${n.name}.key`] = `${n.key}\n`;
  return {
    command: [process.execPath, join(root, 'hooks/dist/vipswitch-hook.cjs')],
    files,
    configFor: (n: NodeInfo) => ({
      endpoint: stack.eventsUrl,
      cluster: reg.name,
      node: n.name,
      keyFile: join(n.baseDir, 'keys', `${n.name}.key`),
      spoolDir: hookSpoolDir(n),
      logFile: hookLogFile(n),
      timeoutMs: 3000,
      promoteWaitMs: 8000,
    }),
  };
}

export const hookSpoolDir = (n: NodeInfo): string => join(n.dir, 'spool');
export const hookLogFile = (n: NodeInfo): string => join(n.dir, 'vipswitch-hook.log');
