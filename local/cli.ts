import { parseArgs } from 'node:util';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBClusterStore } from '../shared/adapters/dynamodb-cluster-store';
import { ConfigError } from '../shared/domain/errors';
import { applyClusterFile } from './apply';

const USAGE = `vipswitch — operator CLI

  vipswitch apply -f cluster.yaml [--stage local]     register / update a cluster and its nodes (DynamoDB table vipswitch-<stage>-state)
  vipswitch status <cluster> [--api URL] [--json]     fencing record, members and latest journal (GET /v1/clusters/<cluster>)
  vipswitch confirm <cluster> <node> --timeline T --reason TEXT [--stage local]
                                                      confirm a primary the hook could not prove (unverified_claim):
                                                      same fencing rule, journaled as operator_confirmed, endpoint moved
  vipswitch drill --tool repmgr|patroni [--scenario NAME ...]   real-cluster drill on this machine: the local stack, a real
                                                         repmgr / Patroni cluster with the real hook, measured failovers
                                                         (--recording-hook: the cluster harness alone; see README)

AWS endpoints and credentials come from the usual SDK environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL_*).
The local stack (npm start) prints the environment to use against it.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'apply':
      return apply(rest);
    case 'status':
      return status(rest);
    case 'confirm':
      return confirm(rest);
    case 'drill': {
      const { runDrillCli } = await import('./drill/cli');
      return runDrillCli(rest);
    }
    case undefined:
    case '-h':
    case '--help':
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`vipswitch: unknown command ${JSON.stringify(command)}\n\n${USAGE}`);
      return 2;
  }
}

async function apply(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { file: { type: 'string', short: 'f' }, stage: { type: 'string', default: process.env.VIPSWITCH_STAGE ?? 'local' } } });
  if (!values.file) {
    console.error('vipswitch apply: -f cluster.yaml is required');
    return 2;
  }
  const client = new DynamoDBClient({});
  try {
    const store = new DynamoDBClusterStore({ client, tableName: `vipswitch-${values.stage}-state` });
    const result = await applyClusterFile(store, values.file);
    console.log(`${result.created ? 'created' : 'updated'} cluster ${result.cluster} with nodes ${result.nodes.join(', ')}`);
    return 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`vipswitch apply: ${values.file}: ${error.message}`);
      return 1;
    }
    throw error;
  } finally {
    client.destroy();
  }
}

async function confirm(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { timeline: { type: 'string' }, reason: { type: 'string' }, stage: { type: 'string', default: process.env.VIPSWITCH_STAGE ?? 'local' } },
  });
  const [cluster, node] = positionals;
  const timeline = Number(values.timeline);
  if (!cluster || !node || !Number.isInteger(timeline) || timeline < 1 || !values.reason) {
    console.error('vipswitch confirm: usage: confirm <cluster> <node> --timeline T --reason TEXT (T: the timeline the node is on, from pg_walfile_name)');
    return 2;
  }
  const [{ EC2Client }, { Route53Client }, { createEndpointActuator }, { confirmPrimary }, { randomUUID }, { userInfo }] = await Promise.all([
    import('@aws-sdk/client-ec2'),
    import('@aws-sdk/client-route-53'),
    import('../shared/adapters/endpoint-actuators'),
    import('../shared/app/confirm-primary'),
    import('node:crypto'),
    import('node:os'),
  ]);
  const retry = { maxAttempts: 4, retryMode: 'adaptive' as const };
  const client = new DynamoDBClient(retry);
  try {
    const store = new DynamoDBClusterStore({ client, tableName: `vipswitch-${values.stage}-state` });
    const actuator = createEndpointActuator({ ec2: new EC2Client(retry), route53: new Route53Client(retry) });
    const result = await confirmPrimary(
      { store, actuator, now: () => new Date() },
      { cluster, node, timeline, operator: process.env.SUDO_USER ?? userInfo().username, reason: values.reason, id: `operator-${randomUUID()}` },
    );
    if (!result.ok) {
      console.error(`vipswitch confirm: refused: ${result.reason}`);
      return 1;
    }
    console.log(`confirmed ${node} as primary of ${cluster} on timeline ${timeline} (epoch ${result.epoch}); endpoint ${result.result.converged ? 'moved and verified' : 'NOT fully moved'}:`);
    for (const a of result.result.actions) console.log(`  ${a.mechanism} ${a.target}: ${a.result}${a.error ? ` (${a.error.code})` : ''}`);
    return result.result.converged ? 0 : 1;
  } finally {
    client.destroy();
  }
}

async function status(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { api: { type: 'string', default: process.env.VIPSWITCH_API ?? 'http://127.0.0.1:3000' }, json: { type: 'boolean', default: false } } });
  const cluster = positionals[0];
  if (!cluster) {
    console.error('vipswitch status: name the cluster');
    return 2;
  }
  const response = await fetch(`${values.api}/v1/clusters/${encodeURIComponent(cluster)}`);
  const body = (await response.json()) as Record<string, any>;
  if (values.json || !response.ok) {
    console.log(JSON.stringify(body, null, 2));
    return response.ok ? 0 : 1;
  }
  const s = body.state;
  console.log(body.message);
  console.log(`  primary ${s.primary ?? '-'}  timeline ${s.timeline}  epoch ${s.epoch}  applied ${s.appliedEpoch}  system id ${s.systemIdentifier ?? '-'}`);
  for (const n of body.nodes) console.log(`  node ${n.name.padEnd(10)} eni ${n.eni}  health ${String(n.health ?? 'unknown').padEnd(8)}${n.fenced ? '  FENCED' : ''}${n.name === s.primary ? '  <- primary' : ''}`);
  const e = body.endpoint;
  if (e) {
    console.log(`  endpoint: ${e.phase} for epoch ${e.epoch}${e.since ? ` since ${e.since}` : ''}${e.at ? ` (last ${e.at})` : ''}`);
    for (const t of e.targets) console.log(`    ${t.mechanism.padEnd(15)} ${t.target.padEnd(40)} desired ${t.desired}  observed ${t.observed ?? '-'}  ${t.state}${t.error ? ` (${t.error.code})` : ''}`);
  }
  console.log('  journal (newest first):');
  for (const j of body.journal) console.log(`    ${j.receivedAt}  ${j.node.padEnd(8)} ${j.type.padEnd(26)} ${j.outcome.padEnd(26)} ${j.reason}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`vipswitch: ${(error as Error).message}`);
    process.exit(1);
  },
);
