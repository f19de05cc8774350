import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { repoRoot } from '../../local/root';
import type { LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import { Metric } from '../../shared/app/metrics';
import { invokeReconcile, makeEvent, post, primaryFacts, registerCluster, repmgrArgs, routesOn, runHook, settled, startTestStack, type TestCluster } from '../support/local';

const run = promisify(execFile);
const ZONES = ['Z0123456789ABCDEFGHIJ', 'Z9876543210ZYXWVUTSRQ'];

type Resource = { Type: string; Properties: Record<string, any> };
type Alarm = { name: string; namespace: string; metric: string; dimensions: { Name: string; Value: unknown }[]; actions: unknown[]; statistic: string; threshold: number };

/** `serverless package` for AWS (osls, no account), as the deployment would render it. */
async function packaged(extra: string[] = []): Promise<Record<string, Resource>> {
  const dir = await mkdtemp(join(tmpdir(), 'vipswitch-alarms-'));
  const build = `.local/build-alarms-${process.pid}`;
  try {
    await run(process.execPath, [join(repoRoot(), 'node_modules/serverless/bin/serverless.js'), 'package', '--stage', 'prod', '--region', 'eu-west-1', '--package', dir, ...extra], {
      cwd: repoRoot(),
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', AWS_ACCESS_KEY_ID: 'AKIAPACKAGE', AWS_SECRET_ACCESS_KEY: 'package', VIPSWITCH_BUILD_DIR: build },
      timeout: 170_000,
    });
    return JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')).Resources;
  } finally {
    await rm(dir, { recursive: true, force: true });
    await rm(join(repoRoot(), build), { recursive: true, force: true });
  }
}

function alarmsOf(resources: Record<string, Resource>): Map<string, Alarm> {
  const alarms = new Map<string, Alarm>();
  for (const [id, r] of Object.entries(resources)) {
    if (r.Type !== 'AWS::CloudWatch::Alarm') continue;
    const p = r.Properties;
    alarms.set(id, { name: p.AlarmName, namespace: p.Namespace, metric: p.MetricName, dimensions: p.Dimensions, actions: p.AlarmActions, statistic: p.Statistic, threshold: p.Threshold });
  }
  return alarms;
}

describe('alarms, metrics and Route 53 permissions in the packaged template', () => {
  let resources: Record<string, Resource>;
  let alarms: Map<string, Alarm>;

  beforeAll(async () => {
    resources = await packaged([`--param=hostedZoneIds=${ZONES[0]},/hostedzone/${ZONES[1]}`]);
    alarms = alarmsOf(resources);
  }, 180_000);

  it('every alarm pages: it publishes to the pages topic', () => {
    expect(alarms.size).toBeGreaterThan(0);
    for (const alarm of alarms.values()) expect(alarm.actions).toEqual([{ Ref: 'PagesTopic' }]);
  });

  it("alarms on vipswitch's own metrics: stale and unverified claims, actuation failures, drift repairs, on any occurrence", () => {
    const ours = [...alarms.values()].filter((a) => a.namespace === 'vipswitch/prod');
    expect(ours.map((a) => a.metric).sort()).toEqual([Metric.ActuationFailures, Metric.DriftRepairs, Metric.StaleClaims, Metric.UnverifiedClaims].sort());
    for (const a of ours) {
      expect(a.dimensions).toEqual([{ Name: 'service', Value: 'vipswitch' }]);
      expect(a).toMatchObject({ statistic: 'Sum', threshold: 0 });
    }
    // The Lambdas write their EMF into the namespace the alarms watch.
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    for (const f of functions) expect(f.Properties.Environment.Variables).toMatchObject({ POWERTOOLS_METRICS_NAMESPACE: 'vipswitch/prod', POWERTOOLS_SERVICE_NAME: 'vipswitch' });
  });

  it('alarms on the errors of every function, one each', () => {
    const functions = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function').map(([id]) => id).sort();
    const watched = [...alarms.values()].filter((a) => a.namespace === 'AWS/Lambda' && a.metric === 'Errors').map((a) => (a.dimensions[0]!.Value as { Ref: string }).Ref).sort();
    expect(functions).toHaveLength(7);
    expect(watched).toEqual(functions);
  });

  it("alarms when the actuator's trigger gives up (failure destination) or drops changes, and when it falls behind", () => {
    const mapping = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping')!;
    // The mapping's own metrics are opt-in.
    expect(mapping[1].Properties.MetricsConfig).toEqual({ Metrics: ['EventCount'] });
    const onMapping = [...alarms.values()].filter((a) => a.dimensions.some((d) => d.Name === 'EventSourceMappingUUID'));
    expect(onMapping.map((a) => a.metric).sort()).toEqual(['DroppedEventCount', 'OnFailureDestinationDeliveredEventCount']);
    for (const a of onMapping) expect(a.dimensions).toEqual([{ Name: 'EventSourceMappingUUID', Value: { Ref: mapping[0] } }]);
    const behind = [...alarms.values()].find((a) => a.metric === 'IteratorAge')!;
    expect(behind).toMatchObject({ namespace: 'AWS/Lambda', statistic: 'Maximum', dimensions: [{ Name: 'FunctionName', Value: { Ref: 'ActuateLambdaFunction' } }] });
  });

  it('CloudWatch can publish to the pages topic: its key is our own, and its policy lets CloudWatch use it', () => {
    const key = resources.PagesKey!;
    expect(resources.PagesTopic!.Properties.KmsMasterKeyId).toEqual({ Ref: 'PagesKey' });
    expect(key).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    expect(key.Properties.KeyPolicy.Statement).toEqual(expect.arrayContaining([expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']) })]));
  });

  it("Route 53 record changes are allowed in the deployment's hosted zones only (params: hostedZoneIds)", () => {
    const statements: { Action: string[]; Resource: unknown }[] = resources.IamRoleLambdaExecution!.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: unknown[] } }) => p.PolicyDocument.Statement);
    const route53 = statements.filter((s) => [s.Action].flat().includes('route53:ChangeResourceRecordSets'));
    expect(route53).toHaveLength(1);
    expect(route53[0]!.Resource).toEqual(ZONES.map((z) => ({ 'Fn::Sub': `arn:\${AWS::Partition}:route53:::hostedzone/${z}` })));
    expect(JSON.stringify(statements)).not.toContain('hostedzone/*');
  });
});

describe('the route53-zone-arns renderer', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { zoneIds, zoneArns } = require('../../shared/config/route53-zone-arns.cjs') as { zoneIds: (v: unknown) => string[]; zoneArns: (o: { resolveVariable: (v: string) => Promise<unknown> }) => Promise<unknown[]> };

  it('takes a list or a comma-separated string, with or without /hostedzone/, once each', () => {
    expect(zoneIds([' Z1ABC ', '/hostedzone/Z2DEF', 'Z1ABC'])).toEqual(['Z1ABC', 'Z2DEF']);
    expect(zoneIds('Z1ABC,hostedzone/Z2DEF,')).toEqual(['Z1ABC', 'Z2DEF']);
  });

  it('refuses a wildcard or anything that is not a zone id, naming it', () => {
    expect(() => zoneIds('*')).toThrow(/"\*"/);
    expect(() => zoneIds(['Z1ABC', 'arn:aws:route53:::hostedzone/Z2'])).toThrow(/not a Route 53 hosted zone id/);
  });

  it('no zone configured grants no zone (not every zone)', async () => {
    expect(await zoneArns({ resolveVariable: async () => '' })).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:route53:::hostedzone/none-configured' }]);
  });
});

/** One EMF line as CloudWatch reads it. */
interface Emf {
  _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

describe('the metrics the alarms watch, as the Lambdas emit them on the local stack (EMF lines on stdout)', () => {
  let stack: LocalStack;
  const output: string[] = [];
  const clusters: TestCluster[] = [];
  let template: Map<string, Alarm>;

  /** Every EMF line the API host's Lambdas wrote so far. */
  const emitted = (): Emf[] =>
    output
      .map((line) => line.slice(Math.max(0, line.indexOf('{"_aws"'))))
      .filter((line) => line.startsWith('{"_aws"'))
      .map((line) => JSON.parse(line) as Emf);
  /** `Metric` → [namespace, dimension names, values] of every line that carries it. */
  const series = (metric: string) =>
    emitted().flatMap((l) => l._aws.CloudWatchMetrics.filter((d) => d.Metrics.some((m) => m.Name === metric)).map((d) => ({ namespace: d.Namespace, dimensions: d.Dimensions[0]!, line: l })));

  beforeAll(async () => {
    [stack, template] = await Promise.all([startTestStack({}, { log: (line) => output.push(line) }), packaged().then(alarmsOf)]);
  }, 240_000);

  afterAll(async () => {
    stack?.aws.setFaults([]);
    await stack?.stop();
    for (const c of clusters) await c.cleanup();
  });

  it('a failover, a stale claim, an unverified claim, a failed move and a drift repair each emit the metric its alarm watches', async () => {
    // Arrange: a cluster on node1, then node2 promoted
    const c = await registerCluster(stack);
    clusters.push(c);
    const { node1, node2, node3 } = c.nodes;
    await runHook(node1!, repmgrArgs(node1!, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)'), primaryFacts(1));
    await settled(stack, c);
    await runHook(node2!, repmgrArgs(node2!, 'standby_promote', 'promoted'), primaryFacts(2));
    await routesOn(stack, c, node2!.eni);
    await settled(stack, c);

    // Act: a stale claim, an unverified claim, a drift repaired by reconcile, and a cluster whose move fails
    expect((await post(stack, c, node1!, JSON.stringify(makeEvent(c, node1!, 'repmgrd_start', primaryFacts(1))))).body.code).toBe('stale_claim');
    expect((await post(stack, c, node3!, JSON.stringify(makeEvent(c, node3!, 'standby_promote', null)))).body.code).toBe('unverified_claim');
    const ec2 = new EC2Client({ endpoint: stack.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
    await ec2.send(new ReplaceRouteCommand({ RouteTableId: c.routeTableIds[0], DestinationCidrBlock: `${c.vip}/32`, NetworkInterfaceId: node3!.eni }));
    ec2.destroy();
    await invokeReconcile(stack);
    const broken = await registerCluster(stack, { routeTableIds: ['rtb-0a1b2c3d4e5f60001', 'rtb-00000000000dead01'] });
    clusters.push(broken);
    await post(stack, broken, broken.nodes.node1!, JSON.stringify(makeEvent(broken, broken.nodes.node1!, 'repmgrd_start', primaryFacts(1))));
    await settled(stack, broken, 30_000);

    // Assert: each alarm's metric was emitted, in the alarm's namespace (per stage) and with exactly its dimensions
    const ours = [...template.values()].filter((a) => a.namespace.startsWith('vipswitch/'));
    await waitFor('every alarmed metric in the EMF output', 15_000, () => ours.every((a) => series(a.metric).length > 0));
    for (const alarm of ours) {
      for (const s of series(alarm.metric)) {
        expect(s.namespace).toBe(alarm.namespace.replace(/\/prod$/, '/local'));
        expect(s.dimensions).toEqual(alarm.dimensions.map((d) => d.Name));
        for (const d of alarm.dimensions) expect(s.line[d.Name]).toBe(d.Value);
      }
    }
    // The failover was timed: commit -> moved <= commit -> verified, both in milliseconds.
    const timed = series(Metric.CommitToVerified).map((s) => s.line);
    expect(timed.length).toBeGreaterThan(0);
    for (const line of timed) {
      const moved = [line[Metric.CommitToMoved]].flat() as number[];
      const verified = [line[Metric.CommitToVerified]].flat() as number[];
      expect(Math.min(...verified)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...moved)).toBeLessThanOrEqual(Math.max(...verified));
    }
    // Events by outcome: the accepted claims, the stale one and the unverified one.
    const outcomes = new Set(series(Metric.Events).map((s) => s.line.outcome));
    expect([...outcomes]).toEqual(expect.arrayContaining(['accepted', 'stale_claim', 'unverified_claim']));
  });
});
