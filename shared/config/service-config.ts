import { z } from 'zod';

const schema = z.object({
  TABLE_NAME: z.string().min(1),
  IDEMPOTENCY_TABLE_NAME: z.string().min(1),
  TOPIC_ARN: z.string().startsWith('arn:'),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
});

export interface ServiceConfig {
  tableName: string;
  idempotencyTableName: string;
  topicArn: string;
  maxBodyBytes: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/** Read and check the Lambda environment once per cold start; a bad deployment fails loudly, naming the variable. */
export function readServiceConfig(env: Record<string, string | undefined>): ServiceConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`vipswitch: bad environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return { tableName: e.TABLE_NAME, idempotencyTableName: e.IDEMPOTENCY_TABLE_NAME, topicArn: e.TOPIC_ARN, maxBodyBytes: e.MAX_BODY_BYTES, logLevel: e.LOG_LEVEL };
}
