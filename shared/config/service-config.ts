import * as z from 'zod/mini';
import { useEnglishMessages } from '../protocol/zod-messages';

useEnglishMessages();

/** An integer environment variable (text, coerced) in min..max, `fallback` when unset. */
export const envInt = (min: number, max: number, fallback: number) => z._default(z.pipe(z.coerce.number(), z.int().check(z.minimum(min), z.maximum(max))), fallback);

// zod/mini, not zod: the functional API lets esbuild drop what these schemas do not use (README, "Cold start and size").
const schema = z.object({
  TABLE_NAME: z.string().check(z.minLength(1)),
  TOPIC_ARN: z.string().check(z.startsWith('arn:')),
  MAX_BODY_BYTES: envInt(1024, 1024 * 1024, 64 * 1024),
  LOG_LEVEL: z._default(z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR']), 'INFO'),
  PAGE_DEDUPE_SECONDS: envInt(0, 86400, 300),
  AWS_MAX_ATTEMPTS: envInt(1, 10, 4),
  AWS_REQUEST_TIMEOUT_MS: envInt(100, 60000, 3000),
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
