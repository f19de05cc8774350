import { z } from 'zod';

const schema = z.object({
  TABLE_NAME: z.string().min(1),
  TOPIC_ARN: z.string().startsWith('arn:'),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1024 * 1024).default(64 * 1024),
  LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']).default('INFO'),
  PAGE_DEDUPE_SECONDS: z.coerce.number().int().min(0).max(86400).default(300),
  AWS_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(10).default(4),
  AWS_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).max(60000).default(3000),
});

export interface ServiceConfig {
  tableName: string;
  topicArn: string;
  maxBodyBytes: number;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  /** Repeats of the same page inside this window are suppressed and counted. */
  pageDedupeSeconds: number;
  awsMaxAttempts: number;
  awsRequestTimeoutMs: number;
}

/** Read and check the Lambda environment once per cold start; a bad deployment fails loudly, naming the variable. */
export function readServiceConfig(env: Record<string, string | undefined>): ServiceConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new Error(`vipswitch: bad environment: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const e = parsed.data;
  return { tableName: e.TABLE_NAME, topicArn: e.TOPIC_ARN, maxBodyBytes: e.MAX_BODY_BYTES, logLevel: e.LOG_LEVEL, pageDedupeSeconds: e.PAGE_DEDUPE_SECONDS, awsMaxAttempts: e.AWS_MAX_ATTEMPTS, awsRequestTimeoutMs: e.AWS_REQUEST_TIMEOUT_MS };
}
