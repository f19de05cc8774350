/**
 * Fault and latency injection of the local AWS endpoint, seen through the real SDK v3 clients: error codes
 * with the right `name` and status, counts, rates, latency, hangs against a client timeout, and the SDK's own
 * retry policy meeting injected throttling.
 */
import { DescribeInstancesCommand, DescribeRouteTablesCommand, EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import { GetChangeCommand, ListHostedZonesCommand } from '@aws-sdk/client-route-53';
import { PublishCommand, ThrottledException } from '@aws-sdk/client-sns';
import { type AwsEndpoint, type FaultRule, FaultRuleError, startAwsEndpoint, type Topology, validateFaultRules } from '../../local/aws-endpoint/index';
import { FaultInjector } from '../../local/aws-endpoint/faults';
import { ec2Client, failure, route53Client, type SdkError, snsClient, TOPIC, useLocalAws, VIP } from '../support/aws-endpoint';

const RTB = 'rtb-0a1b2c3d4e5f60001';
const ENI2 = 'eni-0a1b2c3d4e5f60002';

let topology: Topology;
let endpoint: AwsEndpoint;
let ec2: EC2Client;

useLocalAws({}, (aws) => ({ topology, endpoint, ec2 } = aws));

describe('FaultInjector', () => {
  it('fires a rule with probability `rate`, at most `count` times, and only for its service and action', () => {
    const rolls = [0.1, 0.9, 0.2, 0.3, 0.05];
    const injector = new FaultInjector(() => rolls.shift() ?? 0);
    injector.set([{ service: 'ec2', action: 'ReplaceRoute', code: 'RequestLimitExceeded', rate: 0.5, count: 2 }]);

    const decisions = [
      injector.decide('ec2', 'ReplaceRoute'), // 0.1 < 0.5: fires
      injector.decide('ec2', 'DescribeRouteTables'), // other action: no roll
      injector.decide('route53', 'ReplaceRoute'), // other service: no roll
      injector.decide('ec2', 'ReplaceRoute'), // 0.9: does not fire
      injector.decide('ec2', 'ReplaceRoute'), // 0.2: fires (second and last time)
      injector.decide('ec2', 'ReplaceRoute'), // count reached
    ];

    expect(decisions.map((d) => d.error?.code ?? null)).toEqual(['RequestLimitExceeded', null, null, null, 'RequestLimitExceeded', null]);
    expect(decisions[0]?.error?.status).toBe(503);
    expect(injector.list()[0]?.fired).toBe(2);
  });

  it('adds latency of every firing rule and stops at the first error or hang', () => {
    const injector = new FaultInjector(() => 0);
    injector.set([
      { service: 'sns', latencyMs: 10 },
      { service: 'sns', action: 'Publish', code: 'Throttled', latencyMs: 5 },
      { service: 'sns', hang: true },
    ]);

    const publish = injector.decide('sns', 'Publish');
    const other = injector.decide('sns', 'ListTopics');

    expect(publish).toEqual({ latencyMs: 15, hang: false, error: { code: 'Throttled', status: 429, message: 'Rate exceeded' } });
    expect(other).toEqual({ latencyMs: 10, hang: true, error: undefined });
  });

  it('validateFaultRules names the bad field', () => {
    const cases: Array<[unknown, string]> = [
      [{}, '(root)'],
      [[{ service: 's3', code: 'X' }], '[0].service'],
      [[{ service: 'ec2', code: 'X', rate: 2 }], '[0].rate'],
      [[{ service: 'ec2', code: 'X', count: -1 }], '[0].count'],
      [[{ service: 'ec2', code: 'X', status: 200 }], '[0].status'],
      [[{ service: 'ec2', code: 'X' }, { service: 'ec2' }], '[1]'],
      [[{ service: 'ec2', code: 'X', colour: 'red' }], '[0].colour'],
    ];
    for (const [input, field] of cases) {
      let thrown: unknown;
      try {
        validateFaultRules(input);
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(FaultRuleError);
      expect((thrown as FaultRuleError).field).toBe(field);
    }
  });
});

describe('injected errors', () => {
  it('EC2 RequestLimitExceeded with count 2: two 503s with the right name, then the real answer', async () => {
    endpoint.setFaults([{ service: 'ec2', action: 'ReplaceRoute', code: 'RequestLimitExceeded', count: 2 }]);
    const call = () => ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI2 }));

    const first = await failure(call());
    const second = await failure(call());
    const third = await call();

    for (const err of [first, second]) {
      expect([err.name, err.$metadata.httpStatusCode]).toEqual(['RequestLimitExceeded', 503]);
    }
    expect(third.$metadata.httpStatusCode).toBe(200);
    expect(endpoint.state().routeTables[0]?.routes[1]?.networkInterfaceId).toBe(ENI2);
  });

  it('a rule for one action leaves the others alone; rate 0 never fires', async () => {
    endpoint.setFaults([
      { service: 'ec2', action: 'ReplaceRoute', code: 'InternalError' },
      { service: 'ec2', action: 'DescribeInstances', code: 'InternalError', rate: 0 },
    ]);

    const replace = await failure(ec2.send(new ReplaceRouteCommand({ RouteTableId: RTB, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI2 })));
    const describe = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB] }));
    const instances = await ec2.send(new DescribeInstancesCommand({}));

    expect([replace.name, replace.$metadata.httpStatusCode]).toEqual(['InternalError', 500]);
    expect(describe.RouteTables).toHaveLength(1);
    expect(instances.Reservations).toHaveLength(3);
    expect(endpoint.state().routeTables[0]?.routes[1]?.networkInterfaceId).toBe('eni-0a1b2c3d4e5f60001');
  });

  it('Route 53 Throttling and PriorRequestNotComplete are 400 with Type Sender; a custom status and message are honoured', async () => {
    const route53 = route53Client(endpoint.url);
    try {
      endpoint.setFaults([
        { service: 'route53', action: 'ListHostedZones', code: 'Throttling', count: 1 },
        { service: 'route53', action: 'ListHostedZones', code: 'PriorRequestNotComplete', count: 1 },
        { service: 'route53', action: 'GetChange', code: 'ServiceUnavailable', status: 503, message: 'try later' },
      ]);

      const throttled = await failure(route53.send(new ListHostedZonesCommand({})));
      const prior = await failure(route53.send(new ListHostedZonesCommand({})));
      const unavailable = await failure(route53.send(new GetChangeCommand({ Id: 'C123' })));
      const ok = await route53.send(new ListHostedZonesCommand({}));

      expect([throttled.name, throttled.$metadata.httpStatusCode, (throttled as SdkError & { Type?: string }).Type]).toEqual(['Throttling', 400, 'Sender']);
      expect([prior.name, prior.$metadata.httpStatusCode]).toEqual(['PriorRequestNotComplete', 400]);
      expect([unavailable.name, unavailable.$metadata.httpStatusCode, unavailable.message]).toEqual(['ServiceUnavailable', 503, 'try later']);
      expect(ok.HostedZones).toHaveLength(1);
    } finally {
      route53.destroy();
    }
  });

  it('SNS Throttled maps to the modelled ThrottledException (429, the status in the SNS model)', async () => {
    const sns = snsClient(endpoint.url);
    try {
      endpoint.setFaults([{ service: 'sns', action: 'Publish', code: 'Throttled', count: 1 }]);

      const err = await failure(sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' })));
      const ok = await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'x' }));

      expect(err).toBeInstanceOf(ThrottledException);
      expect([err.name, err.$metadata.httpStatusCode]).toEqual(['ThrottledException', 429]);
      expect(ok.MessageId).toBeDefined();
      expect(endpoint.state().topics[0]?.published).toHaveLength(1);
    } finally {
      sns.destroy();
    }
  });

  it('faults set over HTTP (POST /_local/faults) apply, are listed with fire counts, and DELETE removes them', async () => {
    const rules: FaultRule[] = [{ service: 'ec2', action: 'DescribeRouteTables', code: 'Unavailable', status: 503 }];
    const set = await fetch(`${endpoint.url}/_local/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(rules) });
    const err = await failure(ec2.send(new DescribeRouteTablesCommand({})));
    const listed = (await (await fetch(`${endpoint.url}/_local/faults`)).json()) as Array<FaultRule & { fired: number }>;
    const cleared = await fetch(`${endpoint.url}/_local/faults`, { method: 'DELETE' });
    const ok = await ec2.send(new DescribeRouteTablesCommand({}));
    const bad = await fetch(`${endpoint.url}/_local/faults`, { method: 'POST', body: JSON.stringify([{ service: 'ec2', rate: 5, code: 'X' }]) });

    expect(set.status).toBe(200);
    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['Unavailable', 503]);
    expect(listed).toEqual([expect.objectContaining({ action: 'DescribeRouteTables', fired: 1 })]);
    expect(cleared.status).toBe(200);
    expect(ok.RouteTables).toHaveLength(2);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { field: string }).field).toBe('[0].rate');
  });
});

describe('SDK retries against injected throttling', () => {
  it('RequestLimitExceeded twice, maxAttempts 3: the SDK retries and succeeds on the third attempt', async () => {
    const retrying = ec2Client(endpoint.url, { maxAttempts: 3 });
    try {
      endpoint.setFaults([{ service: 'ec2', action: 'ReplaceRoute', code: 'RequestLimitExceeded', count: 2 }]);
      const before = endpoint.calls().length;

      const out = await retrying.send(new ReplaceRouteCommand({ RouteTableId: RTB, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI2 }));

      expect(out.$metadata.httpStatusCode).toBe(200);
      expect(out.$metadata.attempts).toBe(3);
      expect(endpoint.calls().slice(before).map((c) => [c.action, c.status, c.errorCode, c.fault])).toEqual([
        ['ReplaceRoute', 503, 'RequestLimitExceeded', 'error'],
        ['ReplaceRoute', 503, 'RequestLimitExceeded', 'error'],
        ['ReplaceRoute', 200, null, null],
      ]);
    } finally {
      retrying.destroy();
    }
  });

  it('when the faults outlast maxAttempts the SDK gives up with the injected error', async () => {
    const retrying = ec2Client(endpoint.url, { maxAttempts: 2 });
    try {
      endpoint.setFaults([{ service: 'ec2', action: 'ReplaceRoute', code: 'RequestLimitExceeded', count: 5 }]);

      const err = await failure(retrying.send(new ReplaceRouteCommand({ RouteTableId: RTB, DestinationCidrBlock: VIP, NetworkInterfaceId: ENI2 })));

      expect([err.name, err.$metadata.httpStatusCode, err.$metadata.attempts]).toEqual(['RequestLimitExceeded', 503, 2]);
      expect(endpoint.state().routeTables[0]?.routes[1]?.networkInterfaceId).toBe('eni-0a1b2c3d4e5f60001');
    } finally {
      retrying.destroy();
    }
  });
});

describe('latency and hangs', () => {
  it('a latency-only rule delays the answer, which is otherwise normal', async () => {
    endpoint.setFaults([{ service: 'ec2', action: 'DescribeRouteTables', latencyMs: 300 }]);

    const started = performance.now();
    const out = await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RTB] }));
    const elapsed = performance.now() - started;
    const call = endpoint.calls().at(-1);

    expect(out.RouteTables).toHaveLength(1);
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(call).toEqual(expect.objectContaining({ action: 'DescribeRouteTables', status: 200, fault: 'latency' }));
    expect(call?.ms).toBeGreaterThanOrEqual(290);
  });

  it('a hang never answers: the client request timeout fires, and the endpoint still serves other calls', async () => {
    // With this SDK, requestTimeout alone only logs a warning; throwOnRequestTimeout makes it fail the call.
    const impatient = ec2Client(endpoint.url, { requestHandler: { requestTimeout: 300, throwOnRequestTimeout: true } });
    try {
      endpoint.setFaults([{ service: 'ec2', action: 'DescribeInstances', hang: true, count: 1 }]);

      const started = performance.now();
      const err = await failure(impatient.send(new DescribeInstancesCommand({})));
      const elapsed = performance.now() - started;
      const after = await impatient.send(new DescribeInstancesCommand({}));

      expect(err.name).toBe('TimeoutError');
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(5000);
      expect(after.Reservations).toHaveLength(3);
      const hung = endpoint.calls().filter((c) => c.fault === 'hang');
      expect(hung.at(-1)).toEqual(expect.objectContaining({ action: 'DescribeInstances', status: null, ms: null }));
    } finally {
      impatient.destroy();
    }
  });

  it('close() returns even while a call hangs', async () => {
    const separate = await startAwsEndpoint({ port: 0, topology });
    const client = ec2Client(separate.url, { requestHandler: { requestTimeout: 10_000 } });
    separate.setFaults([{ service: 'ec2', hang: true }]);
    const pending = failure(client.send(new DescribeInstancesCommand({})));
    // Wait (by polling, not sleeping) until the endpoint has the call, so close() really meets a hung socket.
    const deadline = Date.now() + 5000;
    while (separate.calls().length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));

    const started = performance.now();
    await separate.close();
    const err = await pending;
    client.destroy();

    expect(separate.calls()[0]?.fault).toBe('hang');
    expect(performance.now() - started).toBeLessThan(2000);
    expect(err.name).not.toBe('TimeoutError');
  });
});
