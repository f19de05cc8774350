import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../local/root';

const run = promisify(execFile);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

/** `serverless package` (osls, no account) renders the CloudFormation template we would deploy: check its contract. */
describe('serverless.yml, as packaged for AWS', () => {
  let resources: Record<string, { Type: string; Properties: Record<string, any> }>;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vipswitch-package-'));
    await run(process.execPath, [join(repoRoot(), 'node_modules/serverless/bin/serverless.js'), 'package', '--stage', 'prod', '--region', 'eu-west-1', '--package', dir], {
      cwd: repoRoot(),
      env: { ...process.env, SLS_TELEMETRY_DISABLED: '1', AWS_ACCESS_KEY_ID: 'AKIAPACKAGE', AWS_SECRET_ACCESS_KEY: 'package', VIPSWITCH_BUILD_DIR: `.local/build-package-${process.pid}` },
      timeout: 170_000,
    });
    resources = JSON.parse(await readFile(join(dir, 'cloudformation-template-update-stack.json'), 'utf8')).Resources;
  }, 180_000);

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    await rm(join(repoRoot(), `.local/build-package-${process.pid}`), { recursive: true, force: true });
  });

  it('deploys three Lambdas on nodejs22.x with the routes of the wire contract', () => {
    const functions = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties.Runtime)).toEqual(['nodejs22.x', 'nodejs22.x', 'nodejs22.x']);
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(['GET /v1/clusters/{cluster}', 'POST /v1/events']);
    // Hooks authenticate with their HMAC; the status route is for operators, IAM-signed.
    const auth = Object.fromEntries(Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType ?? 'NONE']));
    expect(auth).toEqual({ 'GET /v1/clusters/{cluster}': 'AWS_IAM', 'POST /v1/events': 'NONE' });
    expect(Object.values(resources).some((r) => r.Type === 'AWS::Events::Rule' && r.Properties.ScheduleExpression === 'rate(1 minute)' && r.Properties.State === 'ENABLED')).toBe(true);
  });

  it('has the two tables (TTL, encryption), the pages topic, and edge throttling', () => {
    expect(resources.StateTable?.Properties).toMatchObject({ BillingMode: 'PAY_PER_REQUEST', TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true }, SSESpecification: { SSEEnabled: true } });
    expect(resources.IdempotencyTable?.Properties).toMatchObject({ TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true } });
    expect(resources.PagesTopic?.Type).toBe('AWS::SNS::Topic');
    expect(resources.HttpApiStage?.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
  });

  it('grants least privilege: no wildcard actions, and every mutating EC2 action is bound to tagged resources', () => {
    const statements: Statement[] = resources.IamRoleLambdaExecution!.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: Statement[] } }) => p.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    for (const s of statements) {
      const list = Array.isArray(s.Action) ? s.Action : [s.Action];
      if (s.Resource === '*') expect(list.every((a) => /^ec2:Describe/.test(a))).toBe(true);
      if (list.some((a) => /^ec2:(?!Describe)/.test(a))) expect(JSON.stringify(s.Condition)).toContain('aws:ResourceTag/vipswitch:cluster');
    }
    expect(actions).toEqual(expect.arrayContaining(['dynamodb:ConditionCheckItem', 'ec2:ReplaceRoute', 'ec2:AssociateAddress', 'ec2:AssignPrivateIpAddresses', 'ec2:StopInstances', 'route53:ChangeResourceRecordSets', 'sns:Publish']));
  });
});
