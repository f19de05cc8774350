import { execFile } from 'node:child_process';
import type { PgbouncerConfig } from './config';

/**
 * pgbouncer on every PostgreSQL node (the keepalived + repmgr + pgbouncer pattern): only the primary's may serve
 * clients. On a node that is not the primary the hook turns the local pgbouncer's database off, and back on when the
 * node's own claim is accepted, through pgbouncer's admin console (pgbouncer 1.18, src/admin.c):
 * - off: `DISABLE db` (new clients are refused), then `KILL db` (every client and server connection of the database is
 *   dropped at once, and the database stays paused). Not `PAUSE`: it waits for running transactions with no bound, and a
 *   demoted or stale node must not keep a writing session open;
 * - on: `ENABLE db`, then `RESUME db` (pgbouncer answers `database ... is not paused` to a RESUME it does not need).
 * Observe, compare, act, read back: `SHOW DATABASES` first (its `paused` and `disabled` columns), only the commands that
 * change something, then `SHOW DATABASES` again. Every call is `psql` with an argv (never a shell), bounded.
 */

/** What the database should be. */
export type PgbouncerWant = 'serving' | 'off';

/** The database's flags as `SHOW DATABASES` printed them. */
export interface PgbouncerDatabaseState {
  paused: boolean;
  disabled: boolean;
}

/** What running psql gave. */
export type PsqlResult = { ok: true; stdout: string } | { ok: false; reason: string };
/** Runs psql with an argv array, killed after `timeoutMs`. Injectable for tests. */
export type PsqlRunner = (file: string, args: readonly string[], timeoutMs: number) => Promise<PsqlResult>;

/** The outcome of one ensure step, for one log line. */
export type PgbouncerOutcome =
  | { outcome: 'disabled' | 'enabled' | 'already_off' | 'already_serving'; commands: string[]; ms: number }
  | { outcome: 'failed'; step: 'show' | 'act' | 'verify'; reason: string; commands: string[]; ms: number };

/** The database name as a console identifier: always double-quoted, `"` doubled (admin.c's WORD). */
export function consoleIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** psql's argv for the admin console: no psqlrc, unaligned with a header, no footer, never prompt, stop on error. */
export function consoleArgs(config: PgbouncerConfig, commands: readonly string[]): string[] {
  const args = ['-X', '-A', '-q', '-w', '-P', 'footer=off', '-v', 'ON_ERROR_STOP=1', '-h', config.host, '-p', String(config.port), '-U', config.user, '-d', 'pgbouncer'];
  for (const command of commands) args.push('-c', command);
  return args;
}

/**
 * Parse `SHOW DATABASES` (unaligned, `|`-separated, header first) for `database`: its `paused` and `disabled` flags,
 * located by column name. Null when the database is not listed. Throws on output that has no such columns.
 */
export function parseShowDatabases(stdout: string, database: string): PgbouncerDatabaseState | null {
  const lines = stdout.split('\n').filter((line) => line !== '');
  const header = lines.shift()?.split('|');
  if (header === undefined) throw new Error('no header line');
  const col = (name: string): number => {
    const index = header.indexOf(name);
    if (index < 0) throw new Error(`no ${name} column`);
    return index;
  };
  const [name, paused, disabled] = [col('name'), col('paused'), col('disabled')];
  for (const line of lines) {
    const fields = line.split('|');
    if (fields.length < header.length) continue;
    // A database name containing `|` is not parseable from unaligned output: compare exactly, never by prefix.
    if (fields.length !== header.length || fields[name] !== database) continue;
    return { paused: fields[paused] === '1', disabled: fields[disabled] === '1' };
  }
  return null;
}

/** The console commands that take the database from `state` to `want`, in order. */
export function commandsFor(want: PgbouncerWant, state: PgbouncerDatabaseState, database: string): string[] {
  const id = consoleIdentifier(database);
  if (want === 'off') return [...(state.disabled ? [] : [`DISABLE ${id}`]), ...(state.paused ? [] : [`KILL ${id}`])];
  return [...(state.disabled ? [`ENABLE ${id}`] : []), ...(state.paused ? [`RESUME ${id}`] : [])];
}

/** `execFile` (an argv array, never a shell), SIGKILLed at `timeoutMs`; the first stderr line says why it failed. */
export function execPsql(env: NodeJS.ProcessEnv): PsqlRunner {
  return (file, args, timeoutMs) =>
    new Promise((resolve) => {
      const bound = Math.max(1, Math.floor(timeoutMs));
      try {
        execFile(file, [...args], { timeout: bound, killSignal: 'SIGKILL', maxBuffer: 256 * 1024, encoding: 'utf8', env: { ...env, LC_ALL: 'C', PGCONNECT_TIMEOUT: '1', PGAPPNAME: 'vipswitch-hook' } }, (error, stdout, stderr) => {
          if (!error) return resolve({ ok: true, stdout });
          const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number };
          const firstLine = String(stderr ?? '').split('\n').map((line) => line.trim()).find((line) => line !== '') ?? '';
          if (failure.killed && failure.signal === 'SIGKILL') return resolve({ ok: false, reason: `timeout after ${bound} ms` });
          if (typeof failure.code === 'number') return resolve({ ok: false, reason: `exit ${failure.code}${firstLine ? `: ${firstLine.slice(0, 200)}` : ''}` });
          resolve({ ok: false, reason: failure.signal ? `killed by ${failure.signal}` : typeof failure.code === 'string' ? `${failure.code}: ${failure.message}` : failure.message });
        });
      } catch (error) {
        resolve({ ok: false, reason: (error as Error).message });
      }
    });
}

/**
 * Bring the local pgbouncer's database to `want`, within `timeoutMs` for the whole step. Never throws: a failure is an
 * outcome, for one log line; the hook's exit code never depends on it.
 */
export async function ensurePgbouncer(
  want: PgbouncerWant,
  config: PgbouncerConfig,
  timeoutMs: number,
  run: PsqlRunner,
  now: () => number = () => performance.now(),
): Promise<PgbouncerOutcome> {
  const started = now();
  const deadline = started + timeoutMs;
  const ms = (): number => Math.round(now() - started);
  const call = async (commands: string[]): Promise<PsqlResult> => {
    const left = deadline - now();
    if (left < 1) return { ok: false, reason: `no time left of the ${Math.round(timeoutMs)} ms bound` };
    return run(config.psql, consoleArgs(config, commands), left);
  };
  const show = async (): Promise<PgbouncerDatabaseState | string> => {
    const shown = await call(['SHOW DATABASES']);
    if (!shown.ok) return shown.reason;
    try {
      return parseShowDatabases(shown.stdout, config.database) ?? `database ${JSON.stringify(config.database)} is not in SHOW DATABASES`;
    } catch (error) {
      return `unreadable SHOW DATABASES output (${(error as Error).message})`;
    }
  };

  const before = await show();
  if (typeof before === 'string') return { outcome: 'failed', step: 'show', reason: before, commands: [], ms: ms() };
  const commands = commandsFor(want, before, config.database);
  if (commands.length === 0) return { outcome: want === 'off' ? 'already_off' : 'already_serving', commands, ms: ms() };
  const acted = await call(commands);
  if (!acted.ok) return { outcome: 'failed', step: 'act', reason: acted.reason, commands, ms: ms() };
  const after = await show();
  if (typeof after === 'string') return { outcome: 'failed', step: 'verify', reason: after, commands, ms: ms() };
  if (commandsFor(want, after, config.database).length > 0) {
    return { outcome: 'failed', step: 'verify', reason: `still paused=${after.paused ? 1 : 0} disabled=${after.disabled ? 1 : 0} after ${commands.join('; ')}`, commands, ms: ms() };
  }
  return { outcome: want === 'off' ? 'disabled' : 'enabled', commands, ms: ms() };
}
