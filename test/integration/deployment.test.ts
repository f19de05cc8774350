import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../../local/root';
import { TABLE_DEFINITIONS } from '../../shared/adapters/dynamodb-cluster-store';

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

  const functionsByName = () => Object.fromEntries(Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function').map(([, r]) => [r.Properties.FunctionName as string, r.Properties]));

  it('deploys seven Lambdas on nodejs22.x with the routes of the wire contract and a $default route', () => {
    const functions = functionsByName();
    expect(Object.keys(functions).sort()).toEqual(['vipswitch-prod-actuate', 'vipswitch-prod-clusters', 'vipswitch-prod-ingest', 'vipswitch-prod-not-found', 'vipswitch-prod-reconcile', 'vipswitch-prod-status', 'vipswitch-prod-status-page']);
    expect(Object.values(functions).map((f) => f.Runtime)).toEqual(Array(7).fill('nodejs22.x'));
    const routes = Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey).sort();
    // $default: every method and path no route takes gets the contract's 404 / 405 {code, message}, not API Gateway's.
    expect(routes).toEqual(['$default', 'GET /status', 'GET /status/{cluster}', 'GET /v1/clusters', 'GET /v1/clusters/{cluster}', 'POST /v1/events']);
    // Hooks authenticate with their HMAC; the status route is for operators, IAM-signed; a miss needs no identity.
    const auth = Object.fromEntries(Object.values(resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route').map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType ?? 'NONE']));
    expect(auth).toEqual({ $default: 'NONE', 'GET /status': 'AWS_IAM', 'GET /status/{cluster}': 'AWS_IAM', 'GET /v1/clusters': 'AWS_IAM', 'GET /v1/clusters/{cluster}': 'AWS_IAM', 'POST /v1/events': 'NONE' });
    expect(Object.values(resources).some((r) => r.Type === 'AWS::Events::Rule' && r.Properties.ScheduleExpression === 'rate(1 minute)' && r.Properties.State === 'ENABLED')).toBe(true);
  });

  it('has one table (TTL, encryption, a stream of new and old images), the pages topic, and edge throttling', () => {
    expect(Object.entries(resources).filter(([, r]) => r.Type === 'AWS::DynamoDB::Table').map(([name]) => name)).toEqual(['StateTable']);
    expect(resources.StateTable?.Properties).toMatchObject({
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      SSESpecification: { SSEEnabled: true },
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
    });
    expect(resources.IdempotencyTable).toBeUndefined();
    // The fleet index, as the local stack creates it (TABLE_DEFINITIONS): one source of truth for its shape.
    const local = TABLE_DEFINITIONS.state('x');
    expect(resources.StateTable?.Properties.GlobalSecondaryIndexes).toEqual(local.GlobalSecondaryIndexes);
    expect([...resources.StateTable!.Properties.AttributeDefinitions].sort((a: { AttributeName: string }, b: { AttributeName: string }) => a.AttributeName.localeCompare(b.AttributeName))).toEqual(
      [...local.AttributeDefinitions].sort((a, b) => a.AttributeName.localeCompare(b.AttributeName)),
    );
    expect(resources.PagesTopic?.Type).toBe('AWS::SNS::Topic');
    expect(resources.HttpApiStage?.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 });
  });

  it("triggers the actuator from the state table's stream: partial failures, bisection, bounded retries, paged on give-up, filtered", () => {
    const mappings = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0]!;
    expect(resources[mapping.Properties.FunctionName?.['Fn::GetAtt']?.[0]]?.Properties.FunctionName).toBe('vipswitch-prod-actuate');
    expect(mapping.Properties).toMatchObject({
      EventSourceArn: { 'Fn::GetAtt': ['StateTable', 'StreamArn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BisectBatchOnFunctionError: true,
      DestinationConfig: { OnFailure: { Destination: { Ref: 'PagesTopic' } } },
    });
    // Bounded: -1 (Lambda's default) retries a poisoned batch until the record expires, blocking the cluster's shard.
    const retries = mapping.Properties.MaximumRetryAttempts;
    expect(Number.isInteger(retries) && retries >= 1 && retries <= 10).toBe(true);
    // Filtered: the fencing record, the members, and journal entries flagged for a page or a fence; nothing else.
    const patterns = (mapping.Properties.FilterCriteria?.Filters as { Pattern: string }[]).map((f) => JSON.parse(f.Pattern));
    expect(patterns).toEqual(
      expect.arrayContaining([
        { dynamodb: { Keys: { sk: { S: ['#STATE'] } } } },
        { dynamodb: { Keys: { sk: { S: [{ prefix: 'NODE#' }] } } } },
        { dynamodb: { Keys: { pk: { S: [{ prefix: 'JOURNAL#' }] } }, NewImage: { page: { BOOL: [true] } } } },
        { dynamodb: { Keys: { pk: { S: [{ prefix: 'JOURNAL#' }] } }, NewImage: { fence: { BOOL: [true] } } } },
      ]),
    );
    expect(patterns).toHaveLength(4);
    // Sized for Route 53's INSYNC wait (30-60 s in AWS) plus the EC2 moves and read-backs; Lambda's ceiling is 900 s.
    const actuate = functionsByName()['vipswitch-prod-actuate']!;
    expect(actuate.Timeout).toBeGreaterThanOrEqual(90);
    expect(actuate.Timeout).toBeLessThanOrEqual(900);
  });

  it('grants least privilege: no wildcard actions, and every mutating EC2 action is bound to tagged resources', () => {
    const statements: Statement[] = resources.IamRoleLambdaExecution!.Properties.Policies.flatMap((p: { PolicyDocument: { Statement: Statement[] } }) => p.PolicyDocument.Statement);
    const actions = statements.flatMap((s) => (Array.isArray(s.Action) ? s.Action : [s.Action]));
    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
    for (const s of statements) {
      const list = Array.isArray(s.Action) ? s.Action : [s.Action];
      if (s.Resource === '*') expect(list.every((a) => /^ec2:Describe/.test(a))).toBe(true);
      if (list.some((a) => /^ec2:(?!Describe)/.test(a))) expect(JSON.stringify(s.Condition)).toContain('aws:ResourceTag/vipswitch:cluster');
      // The stream is read on the state table's stream only.
      if (list.some((a) => /^dynamodb:(GetRecords|GetShardIterator|DescribeStream)$/.test(a))) expect(s.Resource).toEqual([{ 'Fn::GetAtt': ['StateTable', 'StreamArn'] }]);
    }
    expect(actions).toEqual(
      expect.arrayContaining(['dynamodb:ConditionCheckItem', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:DescribeStream', 'ec2:ReplaceRoute', 'ec2:AssociateAddress', 'ec2:AssignPrivateIpAddresses', 'ec2:StopInstances', 'route53:ChangeResourceRecordSets', 'route53:GetChange', 'sns:Publish']),
    );
    // sts:AssumeRole only on the roles the deployment lists (params: assumableRoles; none by default), never role/*.
    const assume = statements.filter((s) => [s.Action].flat().includes('sts:AssumeRole'));
    expect(assume).toHaveLength(1);
    expect(assume[0]!.Resource).toEqual([{ 'Fn::Sub': 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/vipswitch-no-assumable-role-configured' }]);
    // The fleet is listed by a Query of its index, never a Scan of the table.
    expect(actions).not.toContain('dynamodb:Scan');
    expect(statements.some((s) => [s.Action].flat().includes('dynamodb:Query') && JSON.stringify(s.Resource).includes('"index","fleet"'))).toBe(true);
    // sns:Publish (pages, and the trigger's on-failure destination) on the pages topic only.
    for (const s of statements.filter((x) => [x.Action].flat().includes('sns:Publish'))) expect([s.Resource].flat()).toEqual([{ Ref: 'PagesTopic' }]);
  });
});
