/**
 * The local AWS endpoint's Route 53 and SNS sides, driven by the real SDK v3 clients: record changes and the
 * PENDING → INSYNC waiter, and an SNS HTTP subscriber on 127.0.0.1 going through the real handshake.
 */
import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  InvalidChangeBatch,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  NoSuchChange,
  NoSuchHostedZone,
  Route53Client,
  waitUntilResourceRecordSetsChanged,
} from '@aws-sdk/client-route-53';
import {
  ConfirmSubscriptionCommand,
  CreateTopicCommand,
  InvalidParameterException,
  ListSubscriptionsByTopicCommand,
  ListTopicsCommand,
  NotFoundException,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
  UnsubscribeCommand,
} from '@aws-sdk/client-sns';
import { createPublicKey, verify, X509Certificate } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type AwsEndpoint, snsStringToSign } from '../../local/aws-endpoint/index';
import { failure, TOPIC, useLocalAws, ZONE } from '../support/aws-endpoint';
import { eventually } from '../support/wait';

const WRITER = 'writer.db.example.internal.';

function upsert(name: string, value: string, action: 'CREATE' | 'UPSERT' | 'DELETE' = 'UPSERT', ttl = 30) {
  return new ChangeResourceRecordSetsCommand({
    HostedZoneId: `/hostedzone/${ZONE}`,
    ChangeBatch: { Comment: 'test', Changes: [{ Action: action, ResourceRecordSet: { Name: name, Type: 'A', TTL: ttl, ResourceRecords: [{ Value: value }] } }] },
  });
}

let endpoint: AwsEndpoint;
let route53: Route53Client;
let sns: SNSClient;

useLocalAws({ route53InsyncAfterMs: 300, snsDelivery: { backoffMs: 20 } }, (aws) => ({ endpoint, route53, sns } = aws));

describe('Route 53 hosted zones', () => {
  it('ListHostedZones and GetHostedZone describe the seeded private zone (with its VPC)', async () => {
    const list = await route53.send(new ListHostedZonesCommand({}));
    const zone = await route53.send(new GetHostedZoneCommand({ Id: ZONE }));

    expect(list.HostedZones).toEqual([
      expect.objectContaining({ Id: `/hostedzone/${ZONE}`, Name: 'db.example.internal.', Config: expect.objectContaining({ PrivateZone: true }), ResourceRecordSetCount: 3 }),
    ]);
    expect(list.IsTruncated).toBe(false);
    expect(zone.HostedZone?.Id).toBe(`/hostedzone/${ZONE}`);
    expect(zone.VPCs).toEqual([{ VPCRegion: 'us-east-1', VPCId: 'vpc-0a1b2c3d4e5f60000' }]);
  });

  it('an unknown zone is the modelled NoSuchHostedZone (404)', async () => {
    const get = await failure(route53.send(new GetHostedZoneCommand({ Id: 'ZNOPE' })));
    const change = await failure(route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: 'ZNOPE', ChangeBatch: { Changes: [] } })));

    expect(get).toBeInstanceOf(NoSuchHostedZone);
    expect([get.name, get.$metadata.httpStatusCode, get.message]).toEqual(['NoSuchHostedZone', 404, 'No hosted zone found with ID: ZNOPE']);
    expect([change.name, change.$metadata.httpStatusCode]).toEqual(['NoSuchHostedZone', 404]);
  });
});

describe('Route 53 record changes', () => {
  it('UPSERT answers PENDING, applies at once, and GetChange turns INSYNC (waitUntilResourceRecordSetsChanged)', async () => {
    const out = await route53.send(upsert(WRITER, '10.0.1.12'));
    const changeId = out.ChangeInfo?.Id ?? '';
    const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE, StartRecordName: WRITER, StartRecordType: 'A', MaxItems: 1 }));

    const waited = await waitUntilResourceRecordSetsChanged({ client: route53, maxWaitTime: 10, minDelay: 0.1, maxDelay: 0.2 }, { Id: changeId });
    const after = await route53.send(new GetChangeCommand({ Id: changeId }));

    expect(out.ChangeInfo?.Status).toBe('PENDING');
    expect(out.ChangeInfo?.SubmittedAt).toBeInstanceOf(Date);
    expect(out.ChangeInfo?.Comment).toBe('test');
    expect(changeId).toMatch(/^\/change\/C[0-9A-Z]{13}$/);
    expect(records.ResourceRecordSets).toEqual([{ Name: WRITER, Type: 'A', TTL: 30, ResourceRecords: [{ Value: '10.0.1.12' }] }]);
    expect(waited.state).toBe('SUCCESS');
    expect(after.ChangeInfo?.Status).toBe('INSYNC');
    expect(endpoint.state().hostedZones[0]?.changes).toEqual([expect.objectContaining({ id: changeId.replace('/change/', ''), status: 'INSYNC' })]);
  });

  it('CREATE of an existing record is the modelled InvalidChangeBatch (400) with its messages, and changes nothing', async () => {
    const err = (await failure(route53.send(upsert(WRITER, '10.0.1.13', 'CREATE')))) as InvalidChangeBatch & { $metadata: { httpStatusCode?: number } };

    expect(err).toBeInstanceOf(InvalidChangeBatch);
    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['InvalidChangeBatch', 400]);
    expect(err.message).toBe(`Tried to create resource record set [name='${WRITER}', type='A'] but it already exists`);
    expect(err.messages).toEqual([err.message]);
    expect(endpoint.state().hostedZones[0]?.records.find((r) => r.name === WRITER)?.values).toEqual(['10.0.1.11']);
  });

  it('DELETE of a missing record, or with values that do not match, is InvalidChangeBatch; a matching DELETE works', async () => {
    const missing = await failure(route53.send(upsert('reader.db.example.internal.', '10.0.1.12', 'DELETE')));
    const mismatch = await failure(route53.send(upsert(WRITER, '10.0.1.99', 'DELETE')));
    await route53.send(upsert(WRITER, '10.0.1.11', 'DELETE', 30));

    expect([missing.name, missing.$metadata.httpStatusCode]).toEqual(['InvalidChangeBatch', 400]);
    expect(missing.message).toContain('but it was not found');
    expect(mismatch.message).toContain('do not match the current values');
    expect(endpoint.state().hostedZones[0]?.records.map((r) => r.type)).toEqual(['NS', 'SOA']);
  });

  it('a batch is atomic: one bad change leaves every record as it was', async () => {
    const err = await failure(
      route53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: ZONE,
          ChangeBatch: {
            Changes: [
              { Action: 'UPSERT', ResourceRecordSet: { Name: 'reader.db.example.internal', Type: 'A', TTL: 30, ResourceRecords: [{ Value: '10.0.1.12' }] } },
              { Action: 'UPSERT', ResourceRecordSet: { Name: 'elsewhere.example.com.', Type: 'A', TTL: 30, ResourceRecords: [{ Value: '10.0.1.12' }] } },
            ],
          },
        }),
      ),
    );

    expect(err.name).toBe('InvalidChangeBatch');
    expect(err.message).toContain('not permitted in zone db.example.internal.');
    expect(endpoint.state().hostedZones[0]?.records.map((r) => r.name)).not.toContain('reader.db.example.internal.');
  });

  it('ListResourceRecordSets pages in Route 53 order with NextRecordName/NextRecordType', async () => {
    await route53.send(upsert('a.db.example.internal.', '10.0.1.21'));
    const first = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: ZONE, MaxItems: 2 }));
    const rest = await route53.send(
      new ListResourceRecordSetsCommand({ HostedZoneId: ZONE, StartRecordName: first.NextRecordName, StartRecordType: first.NextRecordType, MaxItems: 10 }),
    );

    expect(first.ResourceRecordSets?.map((r) => `${r.Name} ${r.Type}`)).toEqual(['db.example.internal. NS', 'db.example.internal. SOA']);
    expect([first.IsTruncated, first.NextRecordName, first.NextRecordType]).toEqual([true, 'a.db.example.internal.', 'A']);
    expect(rest.ResourceRecordSets?.map((r) => r.Name)).toEqual(['a.db.example.internal.', WRITER]);
    expect(rest.IsTruncated).toBe(false);
  });

  it('GetChange of an unknown id is the modelled NoSuchChange (404)', async () => {
    const err = await failure(route53.send(new GetChangeCommand({ Id: '/change/CNOSUCHCHANGE1' })));

    expect(err).toBeInstanceOf(NoSuchChange);
    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['NoSuchChange', 404]);
  });

  it('accepts the rrset path with a trailing slash and no XML declaration (awscli form); errors carry x-amzn-requestid and a body RequestId', async () => {
    const body =
      '<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action>' +
      '<ResourceRecordSet><Name>writer.db.example.internal.</Name><Type>A</Type><TTL>30</TTL><ResourceRecords><ResourceRecord><Value>10.0.1.13</Value>' +
      '</ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>';
    const ok = await fetch(`${endpoint.url}/2013-04-01/hostedzone/${ZONE}/rrset/`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body });
    const okText = await ok.text();
    const bad = await fetch(`${endpoint.url}/2013-04-01/hostedzone/ZNOPE/rrset/`, { method: 'POST', body });
    const badText = await bad.text();

    expect(ok.status).toBe(200);
    expect(okText).toContain('<Status>PENDING</Status>');
    expect(endpoint.state().hostedZones[0]?.records.find((r) => r.name === WRITER)?.values).toEqual(['10.0.1.13']);
    expect(bad.status).toBe(404);
    const requestId = bad.headers.get('x-amzn-requestid');
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(badText).toContain(`<RequestId>${requestId}</RequestId>`);
    expect(badText).toContain('<Error><Type>Sender</Type><Code>NoSuchHostedZone</Code>');
  });
});

/** A subscriber on 127.0.0.1:0 recording every POST; `respond` decides each answer (default 200). */
interface Receiver {
  url: string;
  received: Array<{ headers: IncomingHttpHeaders; body: Record<string, unknown> }>;
  respond: (res: ServerResponse, body: Record<string, unknown>) => void;
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const receiver: Receiver = {
    url: '',
    received: [],
    respond: (res) => res.end('ok'),
    close: async () => undefined,
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      receiver.received.push({ headers: req.headers, body });
      receiver.respond(res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/sns`;
  receiver.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return receiver;
}

/** Subscribe `receiver` and confirm the way a real app does: GET the SubscribeURL it was sent. */
async function subscribeAndConfirm(receiver: Receiver): Promise<string> {
  const out = await sns.send(new SubscribeCommand({ TopicArn: TOPIC, Protocol: 'http', Endpoint: receiver.url }));
  expect(out.SubscriptionArn).toBe('pending confirmation');
  const confirmation = await eventually('the SubscriptionConfirmation', 5000, () => receiver.received.find((m) => m.body.Type === 'SubscriptionConfirmation'));
  const res = await fetch(String(confirmation.body.SubscribeURL));
  const xml = await res.text();
  expect(res.status).toBe(200);
  const arn = /<SubscriptionArn>([^<]+)<\/SubscriptionArn>/.exec(xml)?.[1];
  if (arn === undefined) throw new Error(`no SubscriptionArn in ${xml}`);
  return arn;
}

describe('SNS topics', () => {
  it('CreateTopic is idempotent and ListTopics lists the seeded and created topics', async () => {
    const a = await sns.send(new CreateTopicCommand({ Name: 'vipswitch-other' }));
    const b = await sns.send(new CreateTopicCommand({ Name: 'vipswitch-other' }));
    const seeded = await sns.send(new CreateTopicCommand({ Name: 'vipswitch-pages' }));
    const list = await sns.send(new ListTopicsCommand({}));

    expect(a.TopicArn).toBe('arn:aws:sns:us-east-1:000000000000:vipswitch-other');
    expect(b.TopicArn).toBe(a.TopicArn);
    expect(seeded.TopicArn).toBe(TOPIC);
    expect(list.Topics?.map((t) => t.TopicArn)).toEqual([TOPIC, a.TopicArn]);
  });

  it('CreateTopic with a bad name is InvalidParameterException (400)', async () => {
    const err = await failure(sns.send(new CreateTopicCommand({ Name: 'no spaces allowed' })));

    expect(err).toBeInstanceOf(InvalidParameterException);
    expect([err.name, err.$metadata.httpStatusCode]).toEqual(['InvalidParameterException', 400]);
  });

  it('Publish returns a MessageId and keeps the message (subject, attributes) in the state view', async () => {
    const out = await sns.send(
      new PublishCommand({
        TopicArn: TOPIC,
        Subject: 'failover',
        Message: '{"cluster":"pg1"}',
        MessageAttributes: { severity: { DataType: 'String', StringValue: 'page' }, attempt: { DataType: 'Number', StringValue: '2' } },
      }),
    );

    expect(out.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(endpoint.state().topics[0]?.published).toEqual([
      expect.objectContaining({
        messageId: out.MessageId,
        subject: 'failover',
        message: '{"cluster":"pg1"}',
        messageAttributes: { severity: { Type: 'String', Value: 'page' }, attempt: { Type: 'Number', Value: '2' } },
        deliveries: [],
      }),
    ]);
  });

  it('Publish errors: unknown topic is NotFoundException (404), an empty message InvalidParameterException (400)', async () => {
    const unknown = await failure(sns.send(new PublishCommand({ TopicArn: `${TOPIC}-nope`, Message: 'x' })));
    const empty = await failure(sns.send(new PublishCommand({ TopicArn: TOPIC, Message: '' })));

    expect(unknown).toBeInstanceOf(NotFoundException);
    expect([unknown.name, unknown.$metadata.httpStatusCode]).toEqual(['NotFoundException', 404]);
    expect([empty.name, empty.$metadata.httpStatusCode, empty.message]).toEqual(['InvalidParameterException', 400, 'Invalid parameter: Empty message']);
  });

  it('Subscribe refuses endpoints off this machine and unknown topics', async () => {
    const remote = await failure(sns.send(new SubscribeCommand({ TopicArn: TOPIC, Protocol: 'http', Endpoint: 'http://198.51.100.7/hook' })));
    const email = await failure(sns.send(new SubscribeCommand({ TopicArn: TOPIC, Protocol: 'email', Endpoint: 'ops@example.com' })));
    const topic = await failure(sns.send(new SubscribeCommand({ TopicArn: `${TOPIC}-nope`, Protocol: 'http', Endpoint: 'http://127.0.0.1:9/x' })));

    expect([remote.name, remote.$metadata.httpStatusCode]).toEqual(['InvalidParameterException', 400]);
    expect(email.name).toBe('InvalidParameterException');
    expect([topic.name, topic.$metadata.httpStatusCode]).toEqual(['NotFoundException', 404]);
    expect(endpoint.state().topics[0]?.subscriptions).toEqual([]);
  });
});

describe('SNS HTTP delivery', () => {
  let receiver: Receiver;

  beforeEach(async () => {
    receiver = await startReceiver();
  });

  afterEach(async () => {
    await receiver.close();
  });

  it('handshake: SubscriptionConfirmation is POSTed, signed, and confirming via SubscribeURL activates the subscription', async () => {
    const arn = await subscribeAndConfirm(receiver);
    const confirmation = receiver.received[0];
    const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: TOPIC }));
    const certPem = await (await fetch(String(confirmation?.body.SigningCertURL))).text();

    expect(confirmation?.headers['x-amz-sns-message-type']).toBe('SubscriptionConfirmation');
    expect(confirmation?.headers['x-amz-sns-topic-arn']).toBe(TOPIC);
    expect(confirmation?.body).toEqual(
      expect.objectContaining({ Type: 'SubscriptionConfirmation', TopicArn: TOPIC, SignatureVersion: '1', Token: expect.any(String), MessageId: expect.any(String), Timestamp: expect.any(String) }),
    );
    expect(new X509Certificate(certPem).subject).toContain('CN=sns.local-aws-endpoint.vipswitch');
    const signed = snsStringToSign(confirmation?.body as Record<string, string>);
    expect(verify('RSA-SHA1', Buffer.from(signed), createPublicKey(certPem), Buffer.from(String(confirmation?.body.Signature), 'base64'))).toBe(true);
    expect(arn).toMatch(new RegExp(`^${TOPIC}:[0-9a-f-]{36}$`));
    expect(listed.Subscriptions).toEqual([{ SubscriptionArn: arn, Owner: '000000000000', Protocol: 'http', Endpoint: receiver.url, TopicArn: TOPIC }]);
  });

  it('an unconfirmed subscription is listed as PendingConfirmation and gets no notifications', async () => {
    await sns.send(new SubscribeCommand({ TopicArn: TOPIC, Protocol: 'http', Endpoint: receiver.url }));
    await eventually('the SubscriptionConfirmation', 5000, () => receiver.received.find((m) => m.body.Type === 'SubscriptionConfirmation'));
    const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: TOPIC }));
    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'not for you' }));

    expect(listed.Subscriptions?.[0]?.SubscriptionArn).toBe('PendingConfirmation');
    expect(endpoint.state().topics[0]?.published[0]?.deliveries).toEqual([]);
  });

  it('Publish delivers a signed Notification with MessageAttributes as {Name: {Type, Value}} to a confirmed subscriber', async () => {
    const arn = await subscribeAndConfirm(receiver);
    const out = await sns.send(
      new PublishCommand({ TopicArn: TOPIC, Subject: 'failover', Message: 'node2 promoted', MessageAttributes: { cluster: { DataType: 'String', StringValue: 'pg1' } } }),
    );
    const note = await eventually('the Notification', 5000, () => receiver.received.find((m) => m.body.Type === 'Notification'));
    const certPem = await (await fetch(String(note.body.SigningCertURL))).text();

    expect(note.headers['x-amz-sns-message-type']).toBe('Notification');
    expect(note.headers['x-amz-sns-subscription-arn']).toBe(arn);
    expect(note.body).toEqual(
      expect.objectContaining({
        Type: 'Notification',
        MessageId: out.MessageId,
        TopicArn: TOPIC,
        Subject: 'failover',
        Message: 'node2 promoted',
        SignatureVersion: '1',
        MessageAttributes: { cluster: { Type: 'String', Value: 'pg1' } },
        UnsubscribeURL: expect.stringContaining('Action=Unsubscribe'),
      }),
    );
    expect(verify('RSA-SHA1', Buffer.from(snsStringToSign(note.body as Record<string, string>)), createPublicKey(certPem), Buffer.from(String(note.body.Signature), 'base64'))).toBe(true);
    const delivered = await eventually('the delivery to be recorded', 5000, () => {
      const d = endpoint.state().topics[0]?.published[0]?.deliveries[0];
      return d?.status === 'delivered' ? d : undefined;
    });
    expect(delivered).toEqual(expect.objectContaining({ subscriptionArn: arn, attempts: 1, lastHttpStatus: 200 }));
  });

  it('a failing subscriber is retried until it answers 2xx', async () => {
    await subscribeAndConfirm(receiver);
    let refusals = 2;
    receiver.respond = (res, body) => {
      if (body.Type === 'Notification' && refusals-- > 0) {
        res.statusCode = 500;
        res.end('not yet');
        return;
      }
      res.end('ok');
    };

    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'retry me' }));
    const delivered = await eventually('the delivery to succeed', 5000, () => {
      const d = endpoint.state().topics[0]?.published[0]?.deliveries[0];
      return d?.status === 'delivered' ? d : undefined;
    });

    expect(delivered.attempts).toBe(3);
    expect(receiver.received.filter((m) => m.body.Type === 'Notification')).toHaveLength(3);
  });

  it('Publish never waits for a slow subscriber', async () => {
    await subscribeAndConfirm(receiver);
    const held: ServerResponse[] = [];
    receiver.respond = (res) => held.push(res);

    const started = performance.now();
    await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: 'slow one' }));
    const elapsed = performance.now() - started;
    await eventually('the notification to arrive', 5000, () => (held.length > 0 ? true : undefined));
    for (const res of held) res.end('ok');

    expect(elapsed).toBeLessThan(1000);
    await eventually('the held delivery to complete', 5000, () => (endpoint.state().topics[0]?.published[0]?.deliveries[0]?.status === 'delivered' ? true : undefined));
  });

  it('ConfirmSubscription with a wrong token is InvalidParameterException; Unsubscribe removes; a second Unsubscribe is NotFoundException', async () => {
    const arn = await subscribeAndConfirm(receiver);

    const badToken = await failure(sns.send(new ConfirmSubscriptionCommand({ TopicArn: TOPIC, Token: 'not-the-token' })));
    await sns.send(new UnsubscribeCommand({ SubscriptionArn: arn }));
    const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn: TOPIC }));
    const again = await failure(sns.send(new UnsubscribeCommand({ SubscriptionArn: arn })));

    expect([badToken.name, badToken.$metadata.httpStatusCode]).toEqual(['InvalidParameterException', 400]);
    expect(listed.Subscriptions).toEqual([]);
    expect([again.name, again.$metadata.httpStatusCode]).toEqual(['NotFoundException', 404]);
  });

  it('ConfirmSubscription through the SDK works too (token from the confirmation message)', async () => {
    await sns.send(new SubscribeCommand({ TopicArn: TOPIC, Protocol: 'http', Endpoint: receiver.url }));
    const confirmation = await eventually('the SubscriptionConfirmation', 5000, () => receiver.received.find((m) => m.body.Type === 'SubscriptionConfirmation'));

    const out = await sns.send(new ConfirmSubscriptionCommand({ TopicArn: TOPIC, Token: String(confirmation.body.Token) }));

    expect(out.SubscriptionArn).toMatch(new RegExp(`^${TOPIC}:`));
    expect(endpoint.state().topics[0]?.subscriptions[0]?.confirmed).toBe(true);
  });
});
