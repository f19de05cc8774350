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
import { SNSClient } from '@aws-sdk/client-sns';
import { applyClusterFile } from './apply';
import { describeView, endpointView, pointsAt } from './endpoint-view';
import { startPageReceiver } from './page-receiver';
import { parseClusterFile } from '../shared/config/cluster-config';
import { isPortFree } from './ports';
import { repoRoot } from './root';
import { LOCAL_NAMES, loadTopology, startLocalStack, type LocalStack } from './stack';
import { waitFor } from './wait-for';

const run = promisify(execFile);
const ROOT = repoRoot();
const EXAMPLE = join(ROOT, 'local/example');
const WORK = join(ROOT, '.local/example');
const HOOK = join(ROOT, 'hooks/dist/vipswitch-hook.cjs');
const SYSTEM_ID = '7710811430681400266';
const selfTest = process.argv.includes('--self-test');
/** `--latency aws` (or VIPSWITCH_LATENCY=aws): the local AWS endpoint answers with AWS-like latencies. */
const latency = latencyArg(process.argv.slice(2)) ?? process.env.VIPSWITCH_LATENCY ?? 'instant';

function latencyArg(args: string[]): string | undefined {
  const i = args.findIndex((a) => a === '--latency' || a.startsWith('--latency='));
  if (i < 0) return undefined;
  const value = args[i]!.includes('=') ? args[i]!.split('=')[1] : args[i + 1];
  if (value !== 'aws' && value !== 'instant') throw new Error(`--latency takes "instant" or "aws", not ${JSON.stringify(value ?? '')}`);
  return value;
}

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
  say(`vipswitch local stack: starting DynamoDB Local, the local AWS endpoint (latency profile: ${latency}) and the API (serverless-offline)...`);
  const started = Date.now();
  const stack = await startLocalStack({ topology: await loadTopology(join(ROOT, 'local/topology.example.json')), ports, latency: latency as 'instant' | 'aws' });
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
  const parsed = parseClusterFile(parseYaml(await readFile(clusterFile, 'utf8')));
  const cluster = parsed.config;
  await mkdir(join(WORK, 'keys'), { recursive: true, mode: 0o700 });
  for (const node of parsed.nodes) {
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

  // The on-call webhook: a local HTTP subscriber of the pages topic, printing each page.
  const sns = new SNSClient({ endpoint: stack.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
  const receiver = await startPageReceiver({
    topicArn: LOCAL_NAMES.topicArn,
    sns,
    onPage: (p) => say(`  PAGE [${p.attributes.severity}/${p.attributes.type}] ${p.subject}\n       ${JSON.parse(p.message).message}`),
  });

  // node1 is the running primary of the example (timeline 1); node2 and node3 are streaming replicas.
  await hook('node1', 1, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)', { inRecovery: false, timeline: 1 });
  await hook('node2', 2, 'repmgrd_start', 'monitoring connection to upstream node "node1" (ID: 1)', { inRecovery: true, timeline: 1 });
  await hook('node3', 3, 'repmgrd_start', 'monitoring connection to upstream node "node1" (ID: 1)', { inRecovery: true, timeline: 1 });

  const names = new Map<string, string>();
  for (const n of parsed.nodes) {
    names.set(n.eni, n.name);
    if (n.privateIp) names.set(n.privateIp, n.name);
  }
  const nameOf = (key: string | null) => (key === null ? '-' : (names.get(key) ?? '?'));
  const view = () => endpointView(stack.aws.state(), cluster.endpoints);
  // The actuator moves the endpoint after the commit (asynchronously): show it once node1 holds it.
  const node1 = parsed.nodes.find((n) => n.name === 'node1')!;
  await waitFor('the endpoint to point at node1', 30_000, () => pointsAt(view(), node1));

  const promote = promoteCommand('node2', 2, 2);
  say('');
  say(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  say(`  API                 ${stack.apiUrl}   (POST /v1/events, GET /v1/clusters/${cluster.cluster})`);
  say(`  status page         ${stack.apiUrl}/status/${cluster.cluster}   (open it in a browser; it refreshes itself; the fleet: ${stack.apiUrl}/status)`);
  say(`  local AWS endpoint  ${stack.aws.url}   (EC2, Route53, SNS; latency profile ${latency}; state view: ${stack.aws.url}/_local/state)`);
  say(`  DynamoDB Local      ${stack.dynamodbEndpoint}`);
  say(`  pages               SNS ${LOCAL_NAMES.topicArn} -> ${receiver.url} (printed here)`);
  say(`  cluster ${cluster.cluster}, endpoint now:`);
  for (const line of describeView(view(), nameOf)) say(`    ${line}`);
  say('');
  say('Promote node2 (what repmgr runs after `repmgr standby promote`; --facts-json stands in for a real PostgreSQL):');
  say(`  ${promote.map(quote).join(' ')}`);
  say('Then look:');
  say(`  VIPSWITCH_API=${stack.apiUrl} npx vipswitch status ${cluster.cluster}`);
  say(`  curl -s ${stack.aws.url}/_local/state`);
  say('Try the split brain: run the same command again for node1 with timeline 1 (answer 409 stale_claim, a page, nothing moves).');
  say('');
  say('Watching the endpoint (Ctrl-C stops everything)...');

  let last = JSON.stringify(view());
  const watcher = setInterval(() => {
    const now = JSON.stringify(view());
    if (now === last) return;
    last = now;
    say(`  ${new Date().toISOString()}  endpoint changed:`);
    for (const line of describeView(view(), nameOf)) say(`    ${line}`);
  }, 200);
  if (selfTest) {
    const node2 = parsed.nodes.find((n) => n.name === 'node2')!;
    const t0 = performance.now();
    await run(promote[0]!, promote.slice(1));
    const blocked = performance.now() - t0;
    await waitFor('every mechanism to point at node2', 15_000, () => pointsAt(view(), node2), 10);
    say(`self-test: the promote hook returned in ${blocked.toFixed(0)} ms; every mechanism pointed at node2 ${(performance.now() - t0).toFixed(0)} ms after it started`);
    await hook('node1', 1, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)', { inRecovery: false, timeline: 1 });
    await waitFor('the stale_claim page at the receiver', 10_000, () => receiver.pages.some((p) => p.attributes.type === 'stale_claim'));
    clearInterval(watcher);
    if (!pointsAt(view(), node2)) throw new Error('the stale claim moved the endpoint');
    say('self-test: the printed command moved every mechanism to node2; the stale claim paged and moved nothing');
  }
}

function promoteCommand(node: string, nodeId: number, timeline: number): string[] {
  const facts = JSON.stringify({ inRecovery: false, timeline, lsn: '0/3000060', systemIdentifier: SYSTEM_ID });
  const when = new Date().toISOString().replace('T', ' ').replace('Z', '+00');
  return ['node', relative(process.cwd(), HOOK) || HOOK, '--config', relative(process.cwd(), join(WORK, `hook-${node}.json`)), '--facts-json', facts, 'repmgr', String(nodeId), 'standby_promote', '1', when, `server "${node}" (ID: ${nodeId}) was successfully promoted to primary`, '', '', ''];
}

async function hook(node: string, nodeId: number, event: string, details: string, f: { inRecovery: boolean; timeline: number }): Promise<void> {
  const facts = JSON.stringify({ ...f, lsn: '0/3000060', systemIdentifier: SYSTEM_ID });
  const when = new Date().toISOString().replace('T', ' ').replace('Z', '+00');
  await run(process.execPath, [HOOK, '--config', join(WORK, `hook-${node}.json`), '--facts-json', facts, 'repmgr', String(nodeId), event, '1', when, details, '', '', '']);
}

main().catch((error) => {
  process.stderr.write(`vipswitch: ${(error as Error).message}\n`);
  process.exit(1);
});
