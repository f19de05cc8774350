import { randomUUID } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { VipEvent } from '../../shared/domain/event';

/** Version of the on-disk record format. */
export const SPOOL_FORMAT = 1 as const;
/** Sub-directory for records the server answered with a final 4xx, each beside its `.answer.json`. */
export const ANSWERED_DIR = 'answered';
/** Sub-directory for calls that could not be turned into an event (bad config or argv) and unreadable records. */
export const UNPARSED_DIR = 'unparsed';

/**
 * One pending event. `probing`: written before the local probe, by process `pid`, which rewrites it as `ready` with
 * the facts. A `probing` record whose writer died is sent as it is (facts null), never with invented facts.
 */
export interface SpoolRecord {
  spool: typeof SPOOL_FORMAT;
  state: 'probing' | 'ready';
  pid: number;
  spooledAt: string;
  event: VipEvent;
}

/** A call kept for an operator because no event could be built from it. Never sent. */
export interface UnparsedRecord {
  spool: typeof SPOOL_FORMAT;
  kind: 'unparsed';
  pid: number;
  spooledAt: string;
  argv: string[];
  error: string;
}

/** The server's final answer to a record, stored beside it in `answered/`. */
export interface AnswerRecord {
  answeredAt: string;
  status: number;
  code: string | null;
  message: string | null;
  attempts: number;
  body: string;
}

let sequence = 0;

/**
 * The name of a new record: creation time (ms, zero-padded), writer pid and a per-process sequence, so that a plain
 * sort lists records oldest first (to the resolution of the wall clock), then the event id for humans.
 */
export function recordName(now: Date, pid: number, id: string): string {
  sequence = (sequence + 1) % 10000;
  return `${String(now.getTime()).padStart(15, '0')}-${String(pid).padStart(7, '0')}-${String(sequence).padStart(4, '0')}-${id.replace(/[^A-Za-z0-9_.-]/g, '_')}.json`;
}

/**
 * Write `data` to `dir/name` atomically: a temp file in the same directory, fsync, rename over the target, fsync of
 * the directory. A reader (or a crash at any point) sees the old content, the new content or no file, never a part.
 */
export function writeFileAtomic(dir: string, name: string, data: string): void {
  const tmp = join(dir, `.tmp-${name}-${process.pid}-${randomUUID().slice(0, 8)}`);
  const fd = openSync(tmp, 'wx', 0o600);
  try {
    try {
      writeSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, join(dir, name));
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw error;
  }
  fsyncDir(dir);
}

/**
 * `mkdir -p` with mode 0700 whatever the caller's umask: keepalived runs its scripts with umask 0177 (shared/peers/
 * keepalived/findings.md §2), which would leave a new directory at 0600, without its search bit.
 */
export function mkdirPrivate(dir: string): void {
  const first = mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  for (let path = dir; ; path = dirname(path)) {
    chmodSync(path, 0o700);
    if (path === first || dirname(path) === path) break;
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * The spool directory. Any process may add records (names are unique); only the holder of the sender lock
 * (see lock.ts) removes or moves them. Files: `<name>.json` pending records, `.tmp-*` writes in flight,
 * `.lock` the sender lock, `answered/`, `unparsed/`.
 */
export class Spool {
  constructor(readonly dir: string) {}

  /** Create the directory (0700) and its sub-directories if missing. */
  ensure(): void {
    mkdirPrivate(this.dir);
  }

  /** Spool a new record; returns its name. */
  add(record: SpoolRecord, now: Date = new Date()): string {
    this.ensure();
    const name = recordName(now, record.pid, record.event.id);
    writeFileAtomic(this.dir, name, `${JSON.stringify(record)}\n`);
    return name;
  }

  /** Replace a record's content atomically (the writer adding the facts it probed). */
  replace(name: string, record: SpoolRecord): void {
    writeFileAtomic(this.dir, name, `${JSON.stringify(record)}\n`);
  }

  /** Names of the pending records, oldest first. Temp files and sub-directories are not records. */
  list(): string[] {
    let entries;
    try {
      entries = readdirSync(this.dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    return entries
      .filter((entry) => entry.isFile() && !entry.name.startsWith('.') && entry.name.endsWith('.json'))
      .map((entry) => entry.name)
      .sort();
  }

  /**
   * Read one pending record.
   * @returns null when the file vanished (another sender resolved it)
   * @throws Error when its content is not a record (then {@link quarantine} it)
   */
  read(name: string): SpoolRecord | null {
    let text: string;
    try {
      text = readFileSync(join(this.dir, name), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
    const record = JSON.parse(text) as SpoolRecord;
    if (record?.spool !== SPOOL_FORMAT || (record.state !== 'probing' && record.state !== 'ready') || typeof record.event?.id !== 'string') {
      throw new Error(`${name} is not a spool record of format ${SPOOL_FORMAT}`);
    }
    return record;
  }

  /** Drop a delivered record. Idempotent. */
  remove(name: string): void {
    try {
      unlinkSync(join(this.dir, name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }

  /** Move a record the server answered with a final 4xx to `answered/`, the answer written beside it first. */
  moveToAnswered(name: string, answer: AnswerRecord): void {
    const dir = join(this.dir, ANSWERED_DIR);
    mkdirPrivate(dir);
    writeFileAtomic(dir, name.replace(/\.json$/, '.answer.json'), `${JSON.stringify(answer)}\n`);
    renameSync(join(this.dir, name), join(dir, name));
    fsyncDir(dir);
    fsyncDir(this.dir);
  }

  /** Move an unreadable record out of the way (to `unparsed/`) so it cannot block the ones behind it. */
  quarantine(name: string): void {
    const dir = join(this.dir, UNPARSED_DIR);
    mkdirPrivate(dir);
    renameSync(join(this.dir, name), join(dir, name));
    fsyncDir(this.dir);
  }

  /** Keep a call that could not become an event; returns the file's path. */
  addUnparsed(record: UnparsedRecord, now: Date = new Date()): string {
    const dir = join(this.dir, UNPARSED_DIR);
    mkdirPrivate(dir);
    const name = recordName(now, record.pid, randomUUID());
    writeFileAtomic(dir, name, `${JSON.stringify(record)}\n`);
    return join(dir, name);
  }

  /** Remove temp files left by writers killed mid-write (older than `olderThanMs`). Best effort. */
  sweepTemp(olderThanMs: number, nowMs: number = Date.now()): void {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith('.tmp-')) continue;
      try {
        const path = join(this.dir, name);
        if (nowMs - statSync(path).mtimeMs > olderThanMs) unlinkSync(path);
      } catch {
        // raced with another sweeper or the writer
      }
    }
  }
}
