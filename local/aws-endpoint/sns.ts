import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { AwsServiceError } from './errors';
import type { QueryParams } from './query-params';
import type { SnsSigner } from './sns-signing';
import { type AwsWorld, type DeliveryRecord, type PublishedMessageRecord, randomHex, type SubscriptionRecord } from './state';
import { TOPIC_NAME } from './topology';
import { xmlList, type XmlObject } from './xml';

/** The SNS API version the SDK and awscli send. */
export const SNS_VERSION = '2010-03-31';
/** Namespace of every SNS response element. */
export const SNS_XMLNS = `http://sns.amazonaws.com/doc/${SNS_VERSION}/`;

/** How HTTP deliveries are retried. */
export interface SnsDeliveryOptions {
  /** Attempts per message, first included (AWS retries HTTP endpoints a few times too). */
  attempts: number;
  /** Delay before the second attempt; doubles each time. */
  backoffMs: number;
  /** Per-attempt timeout. */
  timeoutMs: number;
}

/** Where the endpoint serves the signing certificate. */
export const SIGNING_CERT_PATH = '/_local/sns/signing-cert.pem';

/** Largest message SNS accepts (256 KiB). */
const MAX_MESSAGE_BYTES = 256 * 1024;

function invalidParameter(message: string): AwsServiceError {
  return new AwsServiceError('InvalidParameter', message);
}

function topicNotFound(): AwsServiceError {
  return new AwsServiceError('NotFound', 'Topic does not exist', 404);
}

/** Delivery targets must be on this machine: the endpoint never sends traffic elsewhere. */
function checkEndpoint(protocol: string, endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw invalidParameter(`Invalid parameter: Endpoint Reason: ${endpoint} is not a URL`);
  }
  if (url.protocol !== `${protocol}:`) throw invalidParameter(`Invalid parameter: Endpoint Reason: the endpoint must be an ${protocol} URL`);
  if (url.hostname !== '127.0.0.1' && url.hostname !== '[::1]') {
    throw invalidParameter('Invalid parameter: Endpoint Reason: the local AWS endpoint only delivers to 127.0.0.1 or [::1]');
  }
}

/**
 * Posts messages to HTTP(S) subscribers in the background: never awaited by the API call that caused it,
 * retried with backoff, every attempt recorded on its {@link DeliveryRecord}. `close()` stops everything.
 */
export class SnsDeliverer {
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();

  constructor(
    private readonly options: SnsDeliveryOptions,
    private readonly log: (line: string) => void,
  ) {}

  /** Start delivering `payload` to `record.endpoint`. */
  deliver(record: DeliveryRecord, payload: Record<string, unknown>, headers: Record<string, string>): void {
    if (this.abort.signal.aborted) return;
    const task = this.run(record, JSON.stringify(payload), headers).finally(() => this.inFlight.delete(task));
    this.inFlight.add(task);
  }

  /** Abort pending deliveries and wait until none is running. */
  async close(): Promise<void> {
    this.abort.abort();
    await Promise.allSettled([...this.inFlight]);
  }

  private async run(record: DeliveryRecord, body: string, headers: Record<string, string>): Promise<void> {
    for (let attempt = 1; attempt <= this.options.attempts; attempt++) {
      if (this.abort.signal.aborted) return;
      record.attempts = attempt;
      try {
        const status = await this.post(record.endpoint, body, headers);
        record.lastHttpStatus = status;
        if (status >= 200 && status < 300) {
          record.status = 'delivered';
          record.lastError = undefined;
          return;
        }
        record.lastError = `HTTP ${status}`;
      } catch (err) {
        record.lastError = (err as Error).message;
      }
      if (attempt < this.options.attempts) {
        const ok = await this.sleep(this.options.backoffMs * 2 ** (attempt - 1));
        if (!ok) return;
      }
    }
    record.status = 'failed';
    this.log(`sns: giving up on ${record.type} ${record.messageId} to ${record.endpoint}: ${record.lastError ?? 'unknown error'}`);
  }

  private sleep(ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const signal = this.abort.signal;
      if (signal.aborted) return resolve(false);
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private post(endpoint: string, body: string, headers: Record<string, string>): Promise<number> {
    return new Promise((resolve, reject) => {
      const url = new URL(endpoint);
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        url,
        {
          method: 'POST',
          // No keep-alive: a pooled socket would hold the subscriber's server open after its test ends.
          agent: false,
          headers: {
            ...headers,
            'content-type': 'text/plain; charset=UTF-8',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': 'Amazon Simple Notification Service Agent',
            connection: 'close',
          },
          signal: this.abort.signal,
          timeout: this.options.timeoutMs,
          // Local HTTPS subscribers use self-signed certificates; nothing here leaves the machine.
          ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`timed out after ${this.options.timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** Everything an SNS handler needs beyond the world. */
export interface SnsContext {
  world: AwsWorld;
  /** The endpoint's own base URL, for SubscribeURL / UnsubscribeURL / SigningCertURL. */
  baseUrl: string;
  signer: SnsSigner;
  deliverer: SnsDeliverer;
}

type SnsHandler = (ctx: SnsContext, params: QueryParams) => XmlObject;

function requireTopic(ctx: SnsContext, params: QueryParams): string {
  const arn = params.get('TopicArn');
  if (arn === undefined || arn === '') throw invalidParameter('Invalid parameter: TopicArn Reason: no value for required parameter');
  if (!ctx.world.topics.has(arn)) throw topicNotFound();
  return arn;
}

function signedPayload(ctx: SnsContext, fields: Record<string, string | undefined>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) if (v !== undefined) out[k] = v;
  out.SignatureVersion = '1';
  out.Signature = ctx.signer.sign(fields);
  out.SigningCertURL = `${ctx.baseUrl}${SIGNING_CERT_PATH}`;
  return out;
}

function sendConfirmation(ctx: SnsContext, sub: SubscriptionRecord): void {
  const base = ctx.baseUrl;
  const messageId = randomUUID();
  const subscribeUrl = `${base}/?Action=ConfirmSubscription&TopicArn=${encodeURIComponent(sub.topicArn)}&Token=${encodeURIComponent(sub.token)}`;
  const payload = signedPayload(ctx, {
    Type: 'SubscriptionConfirmation',
    MessageId: messageId,
    Token: sub.token,
    TopicArn: sub.topicArn,
    Message: `You have chosen to subscribe to the topic ${sub.topicArn}.\nTo confirm the subscription, visit the SubscribeURL included in this message.`,
    SubscribeURL: subscribeUrl,
    Timestamp: new Date(ctx.world.clock()).toISOString(),
  });
  const record: DeliveryRecord = {
    subscriptionArn: sub.arn,
    endpoint: sub.endpoint,
    type: 'SubscriptionConfirmation',
    messageId,
    status: 'pending',
    attempts: 0,
    lastHttpStatus: undefined,
    lastError: undefined,
  };
  const list = ctx.world.confirmationDeliveries.get(sub.arn) ?? [];
  list.push(record);
  ctx.world.confirmationDeliveries.set(sub.arn, list);
  ctx.deliverer.deliver(record, payload, {
    'x-amz-sns-message-type': 'SubscriptionConfirmation',
    'x-amz-sns-message-id': messageId,
    'x-amz-sns-topic-arn': sub.topicArn,
  });
}

const createTopic: SnsHandler = (ctx, params) => {
  const name = params.get('Name') ?? '';
  if (!TOPIC_NAME.test(name)) throw invalidParameter('Invalid parameter: Topic Name');
  const arn = ctx.world.topicArn(name);
  // CreateTopic is idempotent in AWS: the same name gives the same ARN.
  if (!ctx.world.topics.has(arn)) ctx.world.topics.set(arn, { arn, name });
  return { CreateTopicResult: { TopicArn: arn } };
};

const listTopics: SnsHandler = (ctx) => ({
  ListTopicsResult: {
    Topics: xmlList(
      'member',
      [...ctx.world.topics.values()].map((t) => ({ TopicArn: t.arn })),
    ),
  },
});

const subscribe: SnsHandler = (ctx, params) => {
  const topicArn = requireTopic(ctx, params);
  const protocol = params.get('Protocol') ?? '';
  const endpoint = params.get('Endpoint') ?? '';
  if (protocol !== 'http' && protocol !== 'https') {
    throw invalidParameter(`Invalid parameter: Protocol Reason: the local AWS endpoint delivers over http and https only, not '${protocol}'`);
  }
  checkEndpoint(protocol, endpoint);
  const returnArn = params.bool('ReturnSubscriptionArn') === true;
  const existing = [...ctx.world.subscriptions.values()].find((s) => s.topicArn === topicArn && s.protocol === protocol && s.endpoint === endpoint);
  if (existing?.confirmed === true) return { SubscribeResult: { SubscriptionArn: existing.arn } };
  // A pending subscription gets its confirmation again, as AWS resends it on a repeated Subscribe.
  const sub: SubscriptionRecord = existing ?? { arn: `${topicArn}:${randomUUID()}`, topicArn, protocol, endpoint, token: randomHex(256), confirmed: false };
  ctx.world.subscriptions.set(sub.arn, sub);
  sendConfirmation(ctx, sub);
  return { SubscribeResult: { SubscriptionArn: returnArn ? sub.arn : 'pending confirmation' } };
};

const confirmSubscription: SnsHandler = (ctx, params) => {
  const topicArn = requireTopic(ctx, params);
  const token = params.get('Token') ?? '';
  const sub = [...ctx.world.subscriptions.values()].find((s) => s.topicArn === topicArn && s.token === token);
  if (sub === undefined) throw invalidParameter('Invalid token');
  sub.confirmed = true;
  return { ConfirmSubscriptionResult: { SubscriptionArn: sub.arn } };
};

const unsubscribe: SnsHandler = (ctx, params) => {
  const arn = params.get('SubscriptionArn') ?? '';
  if (!ctx.world.subscriptions.has(arn)) throw new AwsServiceError('NotFound', 'Subscription does not exist', 404);
  ctx.world.subscriptions.delete(arn);
  return {};
};

const listSubscriptionsByTopic: SnsHandler = (ctx, params) => {
  const topicArn = requireTopic(ctx, params);
  return {
    ListSubscriptionsByTopicResult: {
      Subscriptions: xmlList(
        'member',
        [...ctx.world.subscriptions.values()]
          .filter((s) => s.topicArn === topicArn)
          .map((s) => ({
            SubscriptionArn: s.confirmed ? s.arn : 'PendingConfirmation',
            Owner: ctx.world.accountId,
            Protocol: s.protocol,
            Endpoint: s.endpoint,
            TopicArn: s.topicArn,
          })),
      ),
    },
  };
};

function parseMessageAttributes(params: QueryParams): Record<string, { Type: string; Value: string }> {
  const out: Record<string, { Type: string; Value: string }> = {};
  for (const n of params.indices('MessageAttributes.entry')) {
    const prefix = `MessageAttributes.entry.${n}`;
    const name = params.get(`${prefix}.Name`) ?? '';
    const dataType = params.get(`${prefix}.Value.DataType`) ?? '';
    if (name === '') throw invalidParameter('Invalid parameter: MessageAttributes Reason: an attribute needs a Name');
    const base = dataType.split('.', 1)[0];
    if (base !== 'String' && base !== 'Number' && base !== 'Binary') {
      throw new AwsServiceError('ParameterValueInvalid', `The message attribute '${name}' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.`);
    }
    const value = base === 'Binary' ? params.get(`${prefix}.Value.BinaryValue`) : params.get(`${prefix}.Value.StringValue`);
    if (value === undefined || value === '') {
      throw new AwsServiceError('ParameterValueInvalid', `The message attribute '${name}' must contain non-empty message attribute value for message attribute type '${dataType}'.`);
    }
    out[name] = { Type: dataType, Value: value };
  }
  return out;
}

const publish: SnsHandler = (ctx, params) => {
  if (params.get('TargetArn') !== undefined || params.get('PhoneNumber') !== undefined) {
    throw invalidParameter('Invalid parameter: the local AWS endpoint publishes to topics only (TopicArn)');
  }
  const topicArn = requireTopic(ctx, params);
  const message = params.get('Message') ?? '';
  if (message === '') throw invalidParameter('Invalid parameter: Empty message');
  if (Buffer.byteLength(message) > MAX_MESSAGE_BYTES) throw invalidParameter('Invalid parameter: Message too long');
  const subject = params.get('Subject');
  if (subject !== undefined && (subject === '' || subject.length > 100 || /[\r\n]/.test(subject))) throw invalidParameter('Invalid parameter: Subject');
  if (params.get('MessageStructure') !== undefined) throw invalidParameter('Invalid parameter: MessageStructure is not supported by the local AWS endpoint');
  const messageAttributes = parseMessageAttributes(params);
  const messageId = randomUUID();
  const timestamp = new Date(ctx.world.clock()).toISOString();
  const published: PublishedMessageRecord = { messageId, topicArn, subject, message, messageAttributes, timestamp, deliveries: [] };
  ctx.world.recordPublished(published);
  const base = ctx.baseUrl;
  for (const sub of ctx.world.subscriptions.values()) {
    if (sub.topicArn !== topicArn || !sub.confirmed) continue;
    const payload = signedPayload(ctx, {
      Type: 'Notification',
      MessageId: messageId,
      TopicArn: topicArn,
      Subject: subject,
      Message: message,
      Timestamp: timestamp,
    });
    payload.UnsubscribeURL = `${base}/?Action=Unsubscribe&SubscriptionArn=${encodeURIComponent(sub.arn)}`;
    if (Object.keys(messageAttributes).length > 0) payload.MessageAttributes = messageAttributes;
    const record: DeliveryRecord = {
      subscriptionArn: sub.arn,
      endpoint: sub.endpoint,
      type: 'Notification',
      messageId,
      status: 'pending',
      attempts: 0,
      lastHttpStatus: undefined,
      lastError: undefined,
    };
    published.deliveries.push(record);
    ctx.deliverer.deliver(record, payload, {
      'x-amz-sns-message-type': 'Notification',
      'x-amz-sns-message-id': messageId,
      'x-amz-sns-topic-arn': topicArn,
      'x-amz-sns-subscription-arn': sub.arn,
    });
  }
  return { PublishResult: { MessageId: messageId } };
};

/** Every SNS action the endpoint speaks. */
export const SNS_HANDLERS: Readonly<Record<string, SnsHandler>> = {
  CreateTopic: createTopic,
  ListTopics: listTopics,
  Subscribe: subscribe,
  ConfirmSubscription: confirmSubscription,
  Unsubscribe: unsubscribe,
  ListSubscriptionsByTopic: listSubscriptionsByTopic,
  Publish: publish,
};

/** Run one SNS action; an unknown one is `InvalidAction`. */
export function handleSns(ctx: SnsContext, action: string, params: QueryParams): XmlObject {
  const handler = SNS_HANDLERS[action];
  if (handler === undefined) throw new AwsServiceError('InvalidAction', `The action ${action} is not valid for this endpoint.`);
  return handler(ctx, params);
}
