import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand, type _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { repoRoot } from './root';

const trigger = JSON.parse(readFileSync(join(repoRoot(), 'shared/config/actuation-trigger.json'), 'utf8')) as TriggerSettings;

/** What invoking the function gave: ok (with the partial failures it reported), or a function error. */
export type InvokeResult = { ok: true; batchItemFailures: string[] } | { ok: false; error: string };

/** The settings of the trigger: those of serverless.yml's stream event (one source: shared/config/actuation-trigger.json). */
export interface TriggerSettings {
  batchSize: number;
  maximumRetryAttempts: number;
  bisectBatchOnFunctionError: boolean;
  parallelizationFactor: number;
}

export const TRIGGER_SETTINGS: TriggerSettings = {
  batchSize: trigger.batchSize,
  maximumRetryAttempts: trigger.maximumRetryAttempts,
  bisectBatchOnFunctionError: trigger.bisectBatchOnFunctionError,
  parallelizationFactor: trigger.parallelizationFactor,
};

export interface StreamTriggerOptions {
  /** The DynamoDB Local client (for DescribeTable) and its endpoint (for the Streams API). */
  dynamodb: DynamoDBClient;
  endpoint: string;
  tableName: string;
  /** Invoke the function with a `DynamoDBStreamEvent`. */
  invoke: (event: { Records: StreamRecord[] }) => Promise<InvokeResult>;
  /** The on-failure destination: a batch given up after its retries. */
  onGiveUp: (records: StreamRecord[], error: string) => Promise<void>;
  settings?: Partial<TriggerSettings>;
  /** Pause between two polls of an idle shard; Lambda polls a shard about 4 times a second, we poll faster locally. */
  pollIntervalMs?: number;
  log?: (line: string) => void;
}

export interface StreamTriggerStats {
  records: number;
  invocations: number;
  failures: number;
  givenUp: number;
}

export interface StreamTrigger {
  /** Make the next `n` invocations fail before the function runs, as a crashed or timed-out function would. */
  failNext(n: number): void;
  stats(): StreamTriggerStats;
  /** Resolves when every record read so far has been handled (tests: "nothing left in flight"). */
  idle(): Promise<void>;
  /**
   * Whether a record of this partition key (`CLUSTER#<name>`) is waiting in a lane or in a batch still being handled
   * (its invocation, its retries): tests use it for "the actuator is done with this cluster".
   */
  handling(pk: string): boolean;
  stop(): Promise<void>;
}

/**
 * The same filter as serverless.yml's `filterPatterns` for the actuator: the fencing record, the members, and journal
 * entries flagged for a page or fencing. Everything else (replay guard, event ids, target status) never invokes it.
 */
export function matchesTriggerFilter(record: StreamRecord): boolean {
  const sk = record.dynamodb?.Keys?.sk?.S ?? '';
  const pk = record.dynamodb?.Keys?.pk?.S ?? '';
  if (sk === '#STATE' || sk.startsWith('NODE#')) return true;
  const image = record.dynamodb?.NewImage;
  return pk.startsWith('JOURNAL#') && (image?.page?.BOOL === true || image?.fence?.BOOL === true);
}

/** Retry pause after a failed invocation: 100 ms doubling, at most 2 s (Lambda retries a stream batch promptly). */
const backoffMs = (attempt: number) => Math.min(2000, 100 * 2 ** attempt);

interface Batch {
  records: StreamRecord[];
  attempts: number;
}

/**
 * The local stack's equivalent of Lambda's event source mapping for a DynamoDB stream: reads DynamoDB Local's stream
 * (shards, iterators, GetRecords), keeps the records matching the filter, and invokes the function with batches of
 * them. Ordered per item key as in AWS: records are split into `parallelizationFactor` lanes by a hash of `pk`, and
 * each lane has one batch in flight. A function error retries the batch (bisected when enabled), a reported partial
 * failure retries from that record, and after `maximumRetryAttempts` the batch goes to `onGiveUp` (the on-failure
 * destination). Written by hand because serverless-offline has no DynamoDB stream event source.
 */
export async function startStreamTrigger(options: StreamTriggerOptions): Promise<StreamTrigger> {
  const settings = { ...TRIGGER_SETTINGS, ...options.settings };
  const log = options.log ?? (() => undefined);
  const pollIntervalMs = options.pollIntervalMs ?? 10;
  const streams = new DynamoDBStreamsClient({ endpoint: options.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
  const { Table } = await options.dynamodb.send(new DescribeTableCommand({ TableName: options.tableName }));
  const streamArn = Table?.LatestStreamArn;
  if (!streamArn) throw new Error(`table ${options.tableName} has no stream (StreamSpecification missing)`);

  const stats: StreamTriggerStats = { records: 0, invocations: 0, failures: 0, givenUp: 0 };
  const lanes: StreamRecord[][] = Array.from({ length: Math.max(1, settings.parallelizationFactor) }, () => []);
  const busy = new Set<number>();
  const controller = new AbortController();
  let failNext = 0;
  let idleWaiters: (() => void)[] = [];

  const pkOf = (record: StreamRecord) => record.dynamodb?.Keys?.pk?.S ?? '';
  const laneOf = (record: StreamRecord) => createHash('sha1').update(pkOf(record)).digest().readUInt32BE(0) % lanes.length;
  const isIdle = () => busy.size === 0 && lanes.every((l) => l.length === 0);
  /** Records of each partition key in batches being handled. */
  const running = new Map<string, number>();
  const count = (records: StreamRecord[], by: number) => {
    for (const r of records) {
      const n = (running.get(pkOf(r)) ?? 0) + by;
      if (n > 0) running.set(pkOf(r), n);
      else running.delete(pkOf(r));
    }
  };
  const settleIdle = () => {
    if (!isIdle()) return;
    const waiters = idleWaiters;
    idleWaiters = [];
    for (const w of waiters) w();
  };

  const invoke = async (records: StreamRecord[]): Promise<InvokeResult> => {
    stats.invocations++;
    if (failNext > 0) {
      failNext--;
      return { ok: false, error: 'injected: the function crashed before it ran' };
    }
    try {
      return await options.invoke({ Records: records });
    } catch (error) {
      return { ok: false, error: (error as Error).message };
    }
  };

  /** Handle one batch to the end: success, retries, bisection, give-up. */
  const runBatch = async (first: Batch): Promise<void> => {
    const pending: Batch[] = [first];
    while (pending.length > 0 && !controller.signal.aborted) {
      const batch = pending.shift()!;
      const result = await invoke(batch.records);
      if (result.ok && result.batchItemFailures.length === 0) continue;
      stats.failures++;
      let retry = batch.records;
      let error = result.ok ? 'partial batch failure' : result.error;
      if (result.ok) {
        // Retry from the lowest failed sequence number, as Lambda does with ReportBatchItemFailures.
        const failed = new Set(result.batchItemFailures);
        const from = batch.records.findIndex((r) => failed.has(r.dynamodb?.SequenceNumber ?? ''));
        retry = from < 0 ? batch.records : batch.records.slice(from);
        error = `partial batch failure from ${batch.records[Math.max(0, from)]?.dynamodb?.SequenceNumber}`;
      }
      if (batch.attempts >= settings.maximumRetryAttempts) {
        stats.givenUp++;
        log(`stream trigger: giving up on ${retry.length} record(s) after ${batch.attempts} retries: ${error}`);
        await options.onGiveUp(retry, error).catch((e: unknown) => log(`stream trigger: on-failure destination failed: ${(e as Error).message}`));
        continue;
      }
      log(`stream trigger: retrying ${retry.length} record(s) (attempt ${batch.attempts + 1}): ${error}`);
      await delay(backoffMs(batch.attempts), undefined, { signal: controller.signal }).catch(() => undefined);
      if (!result.ok && settings.bisectBatchOnFunctionError && retry.length > 1) {
        const half = Math.ceil(retry.length / 2);
        pending.unshift({ records: retry.slice(0, half), attempts: batch.attempts + 1 }, { records: retry.slice(half), attempts: batch.attempts + 1 });
      } else {
        pending.unshift({ records: retry, attempts: batch.attempts + 1 });
      }
    }
  };

  const pump = (lane: number) => {
    if (busy.has(lane) || lanes[lane]!.length === 0 || controller.signal.aborted) return;
    busy.add(lane);
    const records = lanes[lane]!.splice(0, settings.batchSize);
    count(records, 1);
    void runBatch({ records, attempts: 0 }).finally(() => {
      count(records, -1);
      busy.delete(lane);
      pump(lane);
      settleIdle();
    });
  };

  // Shards: read every shard from its start (the table is new), follow closed shards to their children.
  const iterators = new Map<string, string | null>();
  const discover = async () => {
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const id = shard.ShardId!;
      if (iterators.has(id)) continue;
      const { ShardIterator } = await streams.send(new GetShardIteratorCommand({ StreamArn: streamArn, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }));
      iterators.set(id, ShardIterator ?? null);
    }
  };
  await discover();

  const loop = (async () => {
    let lastDiscover = Date.now();
    while (!controller.signal.aborted) {
      let got = 0;
      try {
        for (const [shard, iterator] of iterators) {
          if (iterator === null) continue;
          const { Records = [], NextShardIterator } = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 100 }));
          iterators.set(shard, NextShardIterator ?? null);
          for (const record of Records) {
            stats.records++;
            if (!matchesTriggerFilter(record)) continue;
            lanes[laneOf(record)]!.push(record);
            got++;
          }
        }
        for (let lane = 0; lane < lanes.length; lane++) pump(lane);
        if (Date.now() - lastDiscover > 1000) {
          lastDiscover = Date.now();
          await discover();
        }
      } catch (error) {
        if (controller.signal.aborted) break;
        log(`stream trigger: read failed (${(error as Error).message}); retrying`);
        await delay(200, undefined, { signal: controller.signal }).catch(() => undefined);
      }
      settleIdle();
      if (got === 0) await delay(pollIntervalMs, undefined, { signal: controller.signal }).catch(() => undefined);
    }
  })();

  return {
    failNext: (n) => {
      failNext = n;
    },
    stats: () => ({ ...stats }),
    idle: () => (isIdle() ? Promise.resolve() : new Promise<void>((resolve) => idleWaiters.push(resolve))),
    handling: (pk) => running.has(pk) || lanes.some((l) => l.some((r) => pkOf(r) === pk)),
    stop: async () => {
      controller.abort();
      await loop;
      streams.destroy();
    },
  };
}

/** Invoke a function through serverless-offline's Lambda invoke API; a function error or timeout is `ok: false`. */
export function offlineInvoker(lambdaUrl: string, functionName: string): (event: unknown) => Promise<InvokeResult> {
  return async (event) => {
    const response = await fetch(`${lambdaUrl}/2015-03-31/functions/${functionName}/invocations`, { method: 'POST', body: JSON.stringify(event) });
    const text = await response.text();
    if (!response.ok || response.headers.get('x-amz-function-error') || response.headers.get('x-amzn-errortype')) return { ok: false, error: `HTTP ${response.status}: ${text.slice(0, 300)}` };
    let payload: { batchItemFailures?: { itemIdentifier: string }[]; errorMessage?: string; errorType?: string } = {};
    try {
      payload = text === '' ? {} : JSON.parse(text);
    } catch {
      return { ok: false, error: `unreadable answer: ${text.slice(0, 300)}` };
    }
    if (payload.errorMessage !== undefined || payload.errorType !== undefined) return { ok: false, error: `${payload.errorType}: ${payload.errorMessage}` };
    return { ok: true, batchItemFailures: (payload.batchItemFailures ?? []).map((f) => f.itemIdentifier) };
  };
}
