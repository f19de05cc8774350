import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** The sender lock's file name inside the spool directory. */
export const LOCK_NAME = '.lock';

/**
 * True when `pid` names a running process (also one of another user: EPERM). A zombie (a killed hook its parent
 * has not reaped yet; Patroni leaves those) counts as dead, or its lock and records would wait for nothing.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true; // no /proc: trust kill(0)
  }
}

/** A held sender lock. {@link release} is idempotent and only removes the file while it still names this holder. */
export class SenderLock {
  private held = true;
  constructor(
    readonly path: string,
    readonly pid: number,
  ) {}

  release(): void {
    if (!this.held) return;
    this.held = false;
    try {
      if (parsePid(readFileSync(this.path, 'utf8')) === this.pid) unlinkSync(this.path);
    } catch {
      // gone already
    }
  }
}

export interface LockOptions {
  /** A lock older than this is broken even if its pid looks alive (pid reuse, a hung holder). */
  staleMs: number;
  pid?: number;
}

// A lock file is created empty and then gets the pid: a reader can see it empty for a moment. Such a file is
// taken as held unless it stays unreadable this long.
const EMPTY_GRACE_MS = 5000;

/**
 * One attempt to take the sender lock of `dir`: create `.lock` with O_EXCL holding our pid; break it when its holder is
 * dead (or it is older than `staleMs`). Breakers serialise on a second O_EXCL file, `.lock.break`, and re-check the
 * content under it, so a breaker that judged an old lock dead can never remove the fresh lock of a faster breaker.
 * @returns the lock, or null when another live process holds it
 */
export function tryAcquireLock(dir: string, options: LockOptions): SenderLock | null {
  const pid = options.pid ?? process.pid;
  const path = join(dir, LOCK_NAME);
  for (let round = 0; round < 3; round++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      try {
        writeSync(fd, `${pid}\n`);
      } finally {
        closeSync(fd);
      }
      return new SenderLock(path, pid);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let content: string;
    let ageMs: number;
    try {
      content = readFileSync(path, 'utf8');
      ageMs = Date.now() - statSync(path).mtimeMs;
    } catch {
      continue; // released meanwhile: try again
    }
    const holder = parsePid(content);
    const abandoned = holder === null ? ageMs > EMPTY_GRACE_MS : !isProcessAlive(holder) || ageMs > options.staleMs;
    if (!abandoned) return null;
    if (!breakAbandoned(path, content)) return null;
  }
  return null;
}

/**
 * Take the sender lock, polling until `deadline` (a `performance.now()` value).
 * @returns the lock, or null when it stayed held by a live process until the deadline
 */
export async function acquireLock(
  dir: string,
  deadline: number,
  options: LockOptions,
  sleep: (ms: number) => Promise<void>,
  now: () => number = () => performance.now(),
): Promise<SenderLock | null> {
  for (;;) {
    const lock = tryAcquireLock(dir, options);
    if (lock) return lock;
    const left = deadline - now();
    if (left <= 0) return null;
    await sleep(Math.min(25, left));
  }
}

// A `.lock.break` older than this belongs to a breaker that died between two syscalls.
const BREAK_STALE_MS = 5000;

/** Remove `path` if it still holds exactly `content` (the lock judged abandoned). False: another breaker is at it. */
function breakAbandoned(path: string, content: string): boolean {
  const breakPath = `${path}.break`;
  try {
    closeSync(openSync(breakPath, 'wx', 0o600));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    try {
      if (Date.now() - statSync(breakPath).mtimeMs > BREAK_STALE_MS) unlinkSync(breakPath);
    } catch {
      // its owner finished meanwhile
    }
    return false;
  }
  try {
    if (readFileSync(path, 'utf8') === content) unlinkSync(path);
  } catch {
    // already gone: fine, the next O_EXCL create decides
  } finally {
    unlinkSync(breakPath);
  }
  return true;
}

function parsePid(text: string): number | null {
  const m = /^(\d{1,10})\n?$/.exec(text);
  return m ? Number(m[1]) : null;
}
