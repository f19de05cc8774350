import { isUnreachable } from '../../shared/adapters/aws-clients';
import { ConfigError } from '../../shared/domain/errors';

/**
 * The CLI's exit codes (README, "The vipswitch CLI"): every command ends with one of these.
 *   0 ok: the command did what it says (a check passed, an operation completed)
 *   1 failed: a check failed, an operation was refused or did not complete (the output says which and why)
 *   2 usage: bad arguments or options, a missing file, no AWS region (nothing was done)
 *   3 not reachable: DynamoDB / EC2 / Route 53 / SNS (or the local stack) could not be reached, or no credentials
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error the CLI reports as one clear line (and `{ok: false, error}` under --json), with its exit code. */
export class CliError extends Error {
  readonly exitCode: ExitCode;
  readonly code: string;

  constructor(exitCode: ExitCode, code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** Bad arguments: nothing was done (exit 2). */
export class UsageError extends CliError {
  constructor(message: string) {
    super(EXIT.usage, 'usage', message);
    this.name = 'UsageError';
  }
}

/** A refusal or a failed check: exit 1. */
export class FailedError extends CliError {
  constructor(code: string, message: string) {
    super(EXIT.failed, code, message);
    this.name = 'FailedError';
  }
}

/**
 * Turn anything thrown by a command into a {@link CliError}: the SDK's "cannot connect" and "no credentials" become
 * exit 3 with the endpoint to check, a missing table names the stage, a bad cluster file lists its problems. Never
 * includes a secret (keys never reach an error message).
 */
export function toCliError(error: unknown, context: { table?: string; env: Readonly<Record<string, string | undefined>> }): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof ConfigError) return new CliError(EXIT.failed, 'invalid_config', error.message);
  const e = error as { name?: string; message?: string; code?: string };
  const name = String(e?.name ?? '');
  const message = String(e?.message ?? error);
  if (isUnreachable(error)) {
    const where = context.env.AWS_ENDPOINT_URL_DYNAMODB ?? context.env.AWS_ENDPOINT_URL ?? `AWS in ${context.env.AWS_REGION ?? context.env.AWS_DEFAULT_REGION ?? '(no region)'}`;
    return new CliError(EXIT.unreachable, 'not_reachable', `cannot reach ${where}: ${e?.code ?? name} ${message}`.trim() + ' (stage local: is the local stack running? npm start; another stage: check AWS_REGION and the network)', { cause: error });
  }
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    return new CliError(EXIT.unreachable, 'no_credentials', `no AWS credentials: ${message} (set AWS_PROFILE, or the AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY the local stack prints)`, { cause: error });
  }
  if (/Region is missing/i.test(message)) return new CliError(EXIT.usage, 'no_region', 'no AWS region: set AWS_REGION (e.g. AWS_REGION=eu-west-1)');
  if (name === 'ResourceNotFoundException') {
    return new CliError(EXIT.failed, 'no_table', `table ${context.table ?? '?'} not found: wrong --stage, or wrong AWS_REGION? (${message})`, { cause: error });
  }
  if (/^(AccessDenied|AccessDeniedException|UnauthorizedOperation|UnrecognizedClientException)$/.test(name)) {
    return new CliError(EXIT.failed, 'access_denied', `AWS refused: ${name}: ${message}`, { cause: error });
  }
  return new CliError(EXIT.failed, 'error', `${name && name !== 'Error' ? `${name}: ` : ''}${message}`, { cause: error });
}
