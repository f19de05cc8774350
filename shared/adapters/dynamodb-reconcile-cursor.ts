import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

const KEY = { pk: 'RECONCILE', sk: 'CURSOR' };

/**
 * Where an unfinished fleet sweep stopped (the last cluster it did), kept in the state table so that the next scheduled
 * sweep goes on from there instead of starting over: a fleet larger than one invocation can sweep is covered in
 * bounded shards over several invocations. One item; the stream trigger's filter never selects it.
 */
export class DynamoDBReconcileCursor {
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: { client: DynamoDBClient; tableName: string }) {
    this.#doc = DynamoDBDocumentClient.from(options.client);
    this.#table = options.tableName;
  }

  /** The cluster the last sweep stopped after, or null when it finished (start from the beginning). */
  async read(): Promise<string | null> {
    const { Item } = await this.#doc.send(new GetCommand({ TableName: this.#table, Key: KEY, ConsistentRead: true }));
    return typeof Item?.after === 'string' ? Item.after : null;
  }

  /** Record where the sweep stopped (`null`: it finished). */
  async write(after: string | null, at: Date): Promise<void> {
    await this.#doc.send(new PutCommand({ TableName: this.#table, Item: { ...KEY, after, at: at.toISOString() } }));
  }
}
