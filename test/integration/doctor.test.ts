/**
 * `vipswitch doctor` as an operator runs it (the BUILT CLI, bin/vipswitch.mjs) against the local stack: every check
 * passes on a cluster over the example topology using all four mechanisms with stop-instance fencing, a subscribed
 * pages topic and hooks that were heard; each fault set on the local AWS endpoint fails the right check with its fix.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CreateTagsCommand, DeleteTagsCommand, EC2Client, ModifyNetworkInterfaceAttributeCommand } from '@aws-sdk/client-ec2';
import { SNSClient } from '@aws-sdk/client-sns';
import type { LocalStack } from '../../local/stack';
import { LOCAL_NAMES } from '../../local/stack';
import { startPageReceiver, type PageReceiver } from '../../local/page-receiver';
import { freePort } from '../../local/ports';
import { waitFor } from '../../local/wait-for';
import { primaryFacts, registerCluster, repmgrArgs, ROOT, runHook, settled, startTestStack, type TestCluster } from '../support/local';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin/vipswitch.mjs');

async function vipswitch(stack: LocalStack, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...stack.env, VIPSWITCH_STAGE: 'local', ...env }, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('vipswitch doctor (built CLI, local stack)', () => {
  let stack: LocalStack;
  let cluster: TestCluster;
  let ec2: EC2Client;
  let sns: SNSClient;
  let receiver: PageReceiver;

  beforeAll(async () => {
    await run(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')]);
    stack = await startTestStack();
    const client = { endpoint: stack.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } };
    ec2 = new EC2Client(client);
    sns = new SNSClient(client);
    receiver = await startPageReceiver({ topicArn: LOCAL_NAMES.topicArn, sns });
    await waitFor('the pages subscription to be confirmed', 10_000, () => stack.aws.state().topics[0]?.subscriptions.some((s) => s.confirmed));
    cluster = await registerCluster(stack, {
      fencing: 'stop-instance',
      endpoints: {
        elasticIp: { allocationId: 'eipalloc-0a1b2c3d4e5f60001' },
        secondaryIp: { address: '10.0.1.100' },
        route53: { hostedZoneId: 'Z0123456789ABCDEFGHIJ', writerRecord: 'writer.db.example.internal.', readerRecord: 'reader.db.example.internal.', ttl: 10, waitForInsync: true, insyncTimeoutSeconds: 30 },
      },
    });
    const { node1, node2, node3 } = cluster.nodes;
    await runHook(node1!, repmgrArgs(node1!, 'repmgrd_start'), primaryFacts(1));
    await runHook(node2!, repmgrArgs(node2!, 'repmgrd_start'), { ...primaryFacts(1), inRecovery: true });
    await runHook(node3!, repmgrArgs(node3!, 'repmgrd_start'), { ...primaryFacts(1), inRecovery: true });
    await settled(stack, cluster);
    // The reader record follows the replicas' health: wait until the actuator has written both.
    await waitFor('the reader record', 15_000, () => stack.aws.state().hostedZones[0]?.records.find((r) => r.name === 'reader.db.example.internal.')?.values.length === 2);
  }, 120_000);

  afterAll(async () => {
    await receiver?.close();
    ec2?.destroy();
    sns?.destroy();
    await cluster?.cleanup();
    await stack?.stop();
  });

  afterEach(() => stack.aws.setFaults([]));

  const doctor = async (env: Record<string, string> = {}) => {
    const text = await vipswitch(stack, ['doctor', cluster.name], env);
    const json = await vipswitch(stack, ['doctor', cluster.name, '--json'], env);
    const report = JSON.parse(json.stdout) as { ok: boolean; checks: { id: string; ok: boolean; detail: string; fix?: string }[] };
    return { text, json, report, failed: report.checks.filter((c) => !c.ok).map((c) => c.id) };
  };

  it('prints every check passed and exits 0 on a cluster ready for its first failover', async () => {
    const { text, json, report } = await doctor();

    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/every check passed/);
    expect(text.stdout).not.toMatch(/FAIL/);
    expect(json.code).toBe(0);
    expect(report.checks.map((c) => c.id)).toEqual(['registered', 'route', 'dry-run:route', 'source-dest-check', 'network-interfaces', 'dry-run:AssociateAddress', 'dry-run:StopInstances', 'tags', 'hosted-zone', 'record:writer', 'record:reader', 'pages-topic', 'hooks']);
    // The dry runs reached EC2 as DryRun calls and changed nothing.
    const dry = stack.aws.calls().filter((c) => c.params.DryRun === 'true');
    expect(new Set(dry.map((c) => c.action))).toEqual(new Set(['ReplaceRoute', 'AssociateAddress', 'StopInstances']));
    expect(dry.every((c) => c.errorCode === 'DryRunOperation' && c.status === 412)).toBe(true);
  });

  it('source/dest check on: FAIL source-dest-check with the command that fixes it; the fix makes it pass', async () => {
    const eni = cluster.nodes.node2!.eni;
    await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, SourceDestCheck: { Value: true } }));
    try {
      const { text, failed, report } = await doctor();

      expect(text.code).toBe(1);
      expect(failed).toEqual(['source-dest-check']);
      expect(text.stdout).toMatch(new RegExp(`FAIL +source/dest check off on the ENIs +ON for ${eni} \\(node2\\)`));
      expect(report.checks.find((c) => c.id === 'source-dest-check')?.fix).toBe(`aws ec2 modify-network-interface-attribute --network-interface-id ${eni} --no-source-dest-check`);
    } finally {
      await ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni, SourceDestCheck: { Value: false } }));
    }
    expect((await doctor()).failed).toEqual([]);
  });

  it('a missing vipswitch:cluster tag: FAIL tags, naming the resource and the create-tags command', async () => {
    const table = cluster.routeTableIds[1]!;
    await ec2.send(new DeleteTagsCommand({ Resources: [table], Tags: [{ Key: 'vipswitch:cluster' }] }));
    try {
      const { text, failed, report } = await doctor();

      expect(text.code).toBe(1);
      expect(failed).toEqual(['tags']);
      expect(report.checks.find((c) => c.id === 'tags')).toMatchObject({ detail: expect.stringContaining(`${table} (route table)`), fix: `aws ec2 create-tags --resources ${table} --tags Key=vipswitch:cluster,Value=${cluster.name}` });
    } finally {
      await ec2.send(new CreateTagsCommand({ Resources: [table], Tags: [{ Key: 'vipswitch:cluster', Value: 'pg-main' }] }));
    }
  });

  it('IAM refusing a mutation (UnauthorizedOperation): FAIL on that dry run only', async () => {
    stack.aws.setFaults([{ service: 'ec2', action: 'AssociateAddress', code: 'UnauthorizedOperation', message: 'You are not authorized to perform this operation. Encoded authorization failure message: x' }]);

    const { text, failed, report } = await doctor();

    expect(text.code).toBe(1);
    expect(failed).toEqual(['dry-run:AssociateAddress']);
    expect(report.checks.find((c) => c.id === 'dry-run:AssociateAddress')).toMatchObject({ detail: expect.stringContaining('UnauthorizedOperation'), fix: expect.stringContaining('allow ec2:AssociateAddress') });
  });

  it('EC2 not reachable: exit 3, the checks that asked say "not reachable"', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;

    const { text, report } = await doctor({ AWS_ENDPOINT_URL_EC2: closed, AWS_MAX_ATTEMPTS: '1' });

    expect(text.code).toBe(3);
    expect(report.checks.find((c) => c.id === 'source-dest-check')?.detail).toMatch(/not reachable/);
  });
});
