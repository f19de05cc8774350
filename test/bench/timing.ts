/** Clocks and polling shared by the bench scenarios. */
import { spawn } from 'node:child_process';

/** One event-loop turn: the bench polls in-process state this often, never with a fixed sleep. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * The origin of one sample: `performance.now()` for in-process times, `Date.now()` for comparing with other processes'
 * wall-clock stamps (the hook's log line, the AWS endpoint's call log, the status API's since/at; all ms resolution).
 */
export interface Origin {
  t0: number;
  wall0: number;
}

export function origin(): Origin {
  return { wall0: Date.now(), t0: performance.now() };
}

/** ms since the origin of an in-process `performance.now()` value. */
export const sinceOrigin = (o: Origin, t: number): number => t - o.t0;
/** ms since the origin of a wall-clock ISO stamp (NaN when absent). */
export const isoSinceOrigin = (o: Origin, iso: string | null | undefined): number => (iso ? Date.parse(iso) - o.wall0 : Number.NaN);

/** A child process run to its exit, with when it started and ended relative to `o`. */
export interface TimedRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from the origin to just before spawn(). */
  startMs: number;
  /** ms from the origin to the exit event (what a caller blocked in waitpid sees). */
  exitMs: number;
}

/** Spawn `command` (no shell) and resolve at its exit and the end of its output. */
export function runTimed(o: Origin, command: string, args: string[], env: NodeJS.ProcessEnv): Promise<TimedRun> {
  return new Promise((resolve, reject) => {
    const startMs = sinceOrigin(o, performance.now());
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let exitMs = Number.NaN;
    let code: number | null = null;
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('exit', (c) => {
      exitMs = sinceOrigin(o, performance.now());
      code = c;
    });
    child.once('close', () => resolve({ code, stdout, stderr, startMs, exitMs }));
  });
}
