/**
 * The hook's own error taxonomy. Messages are safe to print: they name the field at fault and never carry the
 * key. Argument errors of the tools themselves are `ArgvError` from shared/domain/errors.
 */
export class HookError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HookError';
  }
}

/** The hook's config (file + env) fails validation; `issues` holds one `field: problem` line per bad field. */
export class HookConfigError extends HookError {
  readonly issues: string[];
  constructor(issues: string[], options?: { cause?: unknown }) {
    super(`invalid hook config:\n  - ${issues.join('\n  - ')}`, options);
    this.name = 'HookConfigError';
    this.issues = issues;
  }
}

/** The hook's own command line (global flags, mode word) is wrong. */
export class UsageError extends HookError {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `--facts-json` / `VIPSWITCH_FACTS_JSON` is not a valid facts object. */
export class FactsJsonError extends HookError {
  constructor(message: string) {
    super(`--facts-json: ${message}`);
    this.name = 'FactsJsonError';
  }
}
