/**
 * `npm start`: the local stack with an example 3-node cluster, on 127.0.0.1, until Ctrl-C.
 * DynamoDB Local + the local EC2/Route53/SNS endpoint + the Lambdas behind serverless-offline; registers the example
 * cluster, lets node1 claim primary, then prints a copy-paste hook command that promotes node2 and watches the route.
 */
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { applyClusterFile } from './apply';
import { isPortFree } from './ports';
import { repoRoot } from './root';
import { loadTopology, startLocalStack, type LocalStack } from './stack';
import { waitFor } from './wait-for';

const run = promisify(execFile);
const ROOT = repoRoot();
const EXAMPLE = join(ROOT, 'local/example');
const WORK = join(ROOT, '.local/example');
const HOOK = join(ROOT, 'hooks/dist/vipswitch-hook.cjs');
const SYSTEM_ID = '7710811430681400266';
const selfTest = process.argv.includes('--self-test');

const ports = {
  api: Number(process.env.VIPSWITCH_HTTP_PORT ?? 3000),
  lambda: Number(process.env.VIPSWITCH_LAMBDA_PORT ?? 3002),
  dynamodb: Number(process.env.VIPSWITCH_DYNAMODB_PORT ?? 8000),
  aws: Number(process.env.VIPSWITCH_AWS_PORT ?? 4566),
};

const say = (line = '') => process.stdout.write(`${line}\n`);
const quote = (s: string) => (/^[A-Za-z0-9_./:=@%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

async function main(): Promise<void> {
  for (const [name, port] of Object.entries(ports)) {
    if (!(await isPortFree(port))) {
      throw new Error(`port ${port} (${name}) is in use on 127.0.0.1; stop what holds it or set VIPSWITCH_${name === 'api' ? 'HTTP' : name.toUpperCase()}_PORT`);
    }
  }
  say('vipswitch local stack: starting DynamoDB Local, the local AWS endpoint and the API (serverless-offline)...');
  const started = Date.now();
  const stack = await startLocalStack({ topology: await loadTopology(join(ROOT, 'local/topology.example.json')), ports });
  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('\nstopping the local stack...');
    await stack.stop();
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  try {
    await demo(stack, started);
    if (selfTest) await stop(0);
  } catch (error) {
    process.stderr.write(`vipswitch: ${(error as Error).message}\n`);
    await stop(1);
  }
}

async function demo(stack: LocalStack, started: number): Promise<void> {
  const clusterFile = join(EXAMPLE, 'cluster.yaml');
  const cluster = parseYaml(await readFile(clusterFile, 'utf8')) as { cluster: string; nodes: { name: string; eni: string; keyFile: string }[]; endpoints: { routeTables: { vip: string; routeTableIds: string[] } } };
  await mkdir(join(WORK, 'keys'), { recursive: true, mode: 0o700 });
  for (const node of cluster.nodes) {
    const keyPath = join(EXAMPLE, node.keyFile);
    if (!existsSync(keyPath)) {
      await writeFile(keyPath, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
      await chmod(keyPath, 0o600);
    }
    await writeFile(
      join(WORK, `hook-${node.name}.json`),
      JSON.stringify({ endpoint: stack.eventsUrl, cluster: cluster.cluster, node: node.name, keyFile: keyPath, spoolDir: join(WORK, `spool-${node.name}`), timeoutMs: 2000 }, null, 2),
    );
  }
  const applied = await applyClusterFile(stack.store, clusterFile);
  say(`registered cluster ${applied.cluster} (nodes ${applied.nodes.join(', ')}) from ${relative(ROOT, clusterFile)}`);

  // node1 is the running primary of the example: its repmgrd_start reports it out of recovery on timeline 1.
  await hook('node1', 1, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)', 1);
  const vip = cluster.endpoints.routeTables.vip;
  const eniOf = new Map(cluster.nodes.map((n) => [n.eni, n.name]));
  const routes = () =>
    stack.aws
      .state()
      .routeTables.filter((t) => cluster.endpoints.routeTables.routeTableIds.includes(t.routeTableId))
      .map((t) => ({ table: t.routeTableId, eni: t.routes.find((r) => r.destinationCidrBlock === `${vip}/32`)?.networkInterfaceId ?? null }));

  const promote = promoteCommand('node2', 2, 2);
  say('');
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  say(`  API                 ${stack.apiUrl}   (POST /v1/events, GET /v1/clusters/${cluster.cluster})`);
  say(`  local AWS endpoint  ${stack.aws.url}   (EC2, Route53, SNS; state view: ${stack.aws.url}/_local/state)`);
  say(`  DynamoDB Local      ${stack.dynamodbEndpoint}`);
  say(`  cluster             ${cluster.cluster}: VIP ${vip}/32 in ${cluster.endpoints.routeTables.routeTableIds.join(', ')}`);
  for (const r of routes()) say(`    ${r.table}: ${vip}/32 -> ${r.eni} (${eniOf.get(r.eni ?? '') ?? '?'})`);
  say('');
  say('Promote node2 (what repmgr runs after `repmgr standby promote`; --facts-json stands in for a real PostgreSQL):');
  say(`  ${promote.map(quote).join(' ')}`);
  say('Then look:');
  say(`  VIPSWITCH_API=${stack.apiUrl} npx vipswitch status ${cluster.cluster}`);
  say(`  curl -s ${stack.aws.url}/_local/state`);
  say('');
  say('Watching the route (Ctrl-C stops everything)...');

  let last = JSON.stringify(routes());
  const watcher = setInterval(() => {
    const now = JSON.stringify(routes());
    if (now === last) return;
    last = now;
    for (const r of routes()) say(`  ${new Date().toISOString()}  ${r.table}: ${vip}/32 -> ${r.eni} (${eniOf.get(r.eni ?? '') ?? '?'})`);
  }, 200);
  if (selfTest) {
    await run(promote[0]!, promote.slice(1));
    await waitFor('the route to point at node2', 10_000, () => routes().every((r) => eniOf.get(r.eni ?? '') === 'node2'));
    clearInterval(watcher);
    say('self-test: the printed command moved every route to node2');
  }
}

function promoteCommand(node: string, nodeId: number, timeline: number): string[] {
  const facts = JSON.stringify({ inRecovery: false, timeline, lsn: '0/3000060', systemIdentifier: SYSTEM_ID });
  const when = new Date().toISOString().replace('T', ' ').replace('Z', '+00');
  return ['node', relative(process.cwd(), HOOK) || HOOK, '--config', relative(process.cwd(), join(WORK, `hook-${node}.json`)), '--facts-json', facts, 'repmgr', String(nodeId), 'standby_promote', '1', when, `server "${node}" (ID: ${nodeId}) was successfully promoted to primary`, '', '', ''];
}

async function hook(node: string, nodeId: number, event: string, details: string, timeline: number): Promise<void> {
  const facts = JSON.stringify({ inRecovery: false, timeline, lsn: '0/3000060', systemIdentifier: SYSTEM_ID });
  const when = new Date().toISOString().replace('T', ' ').replace('Z', '+00');
  await run(process.execPath, [HOOK, '--config', join(WORK, `hook-${node}.json`), '--facts-json', facts, 'repmgr', String(nodeId), event, '1', when, details, '', '', '']);
}

main().catch((error) => {
  process.stderr.write(`vipswitch: ${(error as Error).message}\n`);
  process.exit(1);
});
