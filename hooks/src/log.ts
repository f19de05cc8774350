import { appendFileSync } from 'node:fs';

/** A value in a log line: written bare when it is a plain token, else JSON-quoted. */
export type LogValue = string | number | boolean | null | undefined;

/** One-line-per-outcome log to stderr and, when configured, a file. Callers never pass the key. */
export interface HookLog {
  /** `vipswitch-hook <iso time> k=v k=v ...`; undefined values are left out. */
  line(fields: Record<string, LogValue>): void;
  /** A free-text message (config and usage problems), prefixed like a line. */
  message(text: string): void;
}

/** Format one log line (exported for tests). */
export function formatLine(now: Date, fields: Record<string, LogValue>): string {
  const parts = [`vipswitch-hook ${now.toISOString()}`];
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const text = value === null ? 'null' : String(value);
    parts.push(`${key}=${/^[A-Za-z0-9_.:/@+-]+$/.test(text) ? text : JSON.stringify(text)}`);
  }
  return parts.join(' ');
}

/** A log writing to `stderr` and appending to `logFile` (created 0600). A failing log file is reported once. */
export function createLog(stderr: (text: string) => void, logFile: string | null, now: () => Date = () => new Date()): HookLog {
  let fileBroken = false;
  const write = (text: string): void => {
    stderr(`${text}\n`);
    if (logFile === null || fileBroken) return;
    try {
      appendFileSync(logFile, `${text}\n`, { mode: 0o600 });
    } catch (error) {
      fileBroken = true;
      stderr(`vipswitch-hook: logFile: cannot append to ${logFile} (${(error as NodeJS.ErrnoException).code ?? String(error)})\n`);
    }
  };
  return {
    line: (fields) => write(formatLine(now(), fields)),
    message: (text) => write(`vipswitch-hook ${now().toISOString()} ${text}`),
  };
}
