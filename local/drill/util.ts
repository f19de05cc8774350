/**
 * Low-level helpers for the drill harness: running commands as the `postgres` OS user,
 * free TCP ports on 127.0.0.1, deadline polling, a timestamped timeline logger, and
 * process bookkeeping that only ever touches processes belonging to one base dir.
 *
 * No shell strings are ever built from variable text: every command is an argv array.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { NETNS_FILE, deleteNamespaceSync } from './netns';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
export const LOOPBACK = '127.0.0.1';

// ---------------------------------------------------------------- logging / timeline

export type LogFn = (msg: string) => void;

export interface TimingEntry {
  step: string;
  ms: number;
}

/** Timestamped logger: every line is `<ISO time> +<seconds since t0>s [<label>] <msg>`. */
export class Timeline {
  readonly t0 = Date.now();
  readonly timings: TimingEntry[] = [];
  constructor(
    private readonly label: string,
    private readonly sink?: LogFn,
  ) {}

  log(msg: string): void {
    this.logAt(Date.now(), msg);
  }

  /** Logs a line stamped with an earlier moment (e.g. when a hook call happened). */
  logAt(now: number, msg: string): void {
    if (!this.sink) return;
    const rel = ((now - this.t0) / 1000).toFixed(3);
    this.sink(`${new Date(now).toISOString()} +${rel}s [${this.label}] ${msg}`);
  }

  /** Runs `fn`, logs start and end with the duration, records the duration under `step`. */
  async step<T>(step: string, fn: () => Promise<T>): Promise<T> {
    const start = Date.now();
    this.log(`${step} ...`);
    try {
      const r = await fn();
      const ms = Date.now() - start;
      this.timings.push({ step, ms });
      this.log(`${step} done in ${(ms / 1000).toFixed(3)}s`);
      return r;
    } catch (e) {
      this.log(`${step} FAILED after ${((Date.now() - start) / 1000).toFixed(3)}s: ${errMsg(e)}`);
      throw e;
    }
  }
}

export function errMsg(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

// ---------------------------------------------------------------- polling

export class DeadlineError extends Error {}
/** Thrown from a waitUntil() probe to stop polling at once (e.g. the daemon being waited for died). */
export class FatalWaitError extends Error {}
/** Thrown by waitUntil() when its abort signal fires (the drill was interrupted). */
export class AbortedError extends Error {}

export interface WaitOptions {
  /** pause between two probes (default 200 ms) */
  intervalMs?: number;
  /** stops the wait (AbortedError) before the next probe, and during the pause */
  signal?: AbortSignal;
}

/**
 * The one poll loop of the drill: polls `fn` until it returns a value that is not undefined/null/false, or the
 * deadline passes (DeadlineError, naming the last error or result). `fn` may throw: that counts as "not yet", except
 * FatalWaitError and AbortedError, which end the wait at once. An aborted `signal` ends it with AbortedError.
 * `opts` may be the interval in ms (the harness' historical signature).
 */
export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  deadlineMs: number,
  opts: number | WaitOptions = {},
): Promise<T> {
  const { intervalMs = 200, signal } = typeof opts === 'number' ? { intervalMs: opts } : opts;
  const end = Date.now() + deadlineMs;
  let last = 'no result yet';
  for (;;) {
    if (signal?.aborted) throw new AbortedError(`interrupted while waiting for ${what}`);
    try {
      const r = await fn();
      if (r !== undefined && r !== null && r !== false) return r;
      last = `got ${String(r)}`;
    } catch (e) {
      if (e instanceof FatalWaitError || e instanceof AbortedError) throw e;
      last = errMsg(e);
    }
    if (Date.now() >= end) throw new DeadlineError(`timed out after ${deadlineMs} ms waiting for ${what}: ${last}`);
    await pause(Math.min(intervalMs, Math.max(0, end - Date.now())), signal);
  }
}

/** Sleeps `ms`, or less when `signal` aborts (it never throws: the caller checks the signal). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return delay(ms);
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------- ports

/** Finds `n` distinct free TCP ports on 127.0.0.1 by binding port 0 (all held open together). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      servers.push(srv);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen({ host: LOOPBACK, port: 0, exclusive: true }, () => resolve());
      });
      const addr = srv.address();
      if (!addr || typeof addr === 'string') throw new Error('could not read bound port');
      ports.push(addr.port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}

/** True if something accepts TCP connections on 127.0.0.1:port. */
export function portOpen(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: LOOPBACK, port });
    const done = (v: boolean) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

// ---------------------------------------------------------------- running as postgres

export interface PgUser {
  uid: number;
  gid: number;
}

let pgUserCache: PgUser | undefined;
/** uid/gid of the `postgres` OS user, from /etc/passwd. */
export function postgresUser(): PgUser {
  if (pgUserCache) return pgUserCache;
  const line = fs
    .readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user in /etc/passwd (is postgresql installed?)');
  const f = line.split(':');
  pgUserCache = { uid: Number(f[2]), gid: Number(f[3]) };
  return pgUserCache;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface RunOptions {
  cwd?: string;
  timeoutMs?: number;
  /** extra environment variables (the environment is otherwise empty apart from HOME, LANG, PATH) */
  env?: Record<string, string>;
  /** do not throw on non-zero exit */
  allowFail?: boolean;
}

/**
 * Environment + working dir for one cluster. Every command runs as
 * `runuser -u postgres -- env -i HOME=<base>/home LANG=C.UTF-8 PATH=<base>/bin/shim:<pgbin>:/usr/bin:/bin argv...`
 * with stdout/stderr going to files under `<base>/cmd/` (never pipes: pg_ctl / repmgr may leave a
 * daemon behind that inherits them, which would make a pipe-based wait hang).
 */
export class PgRunner {
  private seq = 0;
  constructor(readonly baseDir: string) {}

  get home(): string {
    return path.join(this.baseDir, 'home');
  }
  get shimDir(): string {
    return path.join(this.baseDir, 'bin', 'shim');
  }
  get cmdDir(): string {
    return path.join(this.baseDir, 'cmd');
  }

  /** argv prefix that switches to postgres with a clean environment. */
  prefix(extraEnv: Record<string, string> = {}): string[] {
    const envArgs = [
      `HOME=${this.home}`,
      'LANG=C.UTF-8',
      `PATH=${this.shimDir}:${PG_BIN}:/usr/bin:/bin`,
      ...Object.entries(extraEnv).map(([k, v]) => `${k}=${v}`),
    ];
    const uid = process.getuid?.();
    if (uid === 0) return ['runuser', '-u', 'postgres', '--', 'env', '-i', ...envArgs];
    if (uid === postgresUser().uid) return ['env', '-i', ...envArgs];
    throw new Error('the drill harness must run as root (it uses runuser) or as the postgres user');
  }

  /** Runs argv as postgres and waits for it to exit (not for its inherited fds to close). */
  async run(argv: string[], opts: RunOptions = {}): Promise<RunResult> {
    const full = [...this.prefix(opts.env), ...argv];
    const n = ++this.seq;
    const tag = `${String(n).padStart(4, '0')}-${path.basename(argv[0] ?? 'cmd')}`;
    const outPath = path.join(this.cmdDir, `${tag}.out`);
    const errPath = path.join(this.cmdDir, `${tag}.err`);
    await fsp.writeFile(path.join(this.cmdDir, `${tag}.argv`), JSON.stringify(argv) + '\n');
    const out = fs.openSync(outPath, 'w');
    const err = fs.openSync(errPath, 'w');
    const start = Date.now();
    let timedOut = false;
    const res = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
      let child;
      try {
        child = spawn(full[0]!, full.slice(1), {
          cwd: opts.cwd ?? this.baseDir,
          stdio: ['ignore', out, err],
          detached: true, // own process group, so a timeout can kill what it started
          env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        });
      } catch (e) {
        reject(e);
        return;
      }
      const timer =
        opts.timeoutMs !== undefined
          ? setTimeout(() => {
              timedOut = true;
              try {
                if (child.pid) process.kill(-child.pid, 'SIGKILL');
              } catch {
                /* already gone */
              }
            }, opts.timeoutMs)
          : undefined;
      child.once('error', (e) => {
        if (timer) clearTimeout(timer);
        reject(e);
      });
      child.once('exit', (code, signal) => {
        if (timer) clearTimeout(timer);
        resolve({ code, signal });
      });
    }).finally(() => {
      fs.closeSync(out);
      fs.closeSync(err);
    });
    const result: RunResult = {
      ...res,
      stdout: await fsp.readFile(outPath, 'utf8'),
      stderr: await fsp.readFile(errPath, 'utf8'),
      ms: Date.now() - start,
    };
    if (!timedOut && result.code === 0) {
      // keep the outputs of failed commands only (for collectLogs); successful polls would pile up
      await Promise.all([outPath, errPath, path.join(this.cmdDir, `${tag}.argv`)].map((f) => fsp.rm(f, { force: true })));
    }
    if (timedOut) throw new Error(`command timed out after ${opts.timeoutMs} ms: ${argv.join(' ')}\n${tail(result)}`);
    if (result.code !== 0 && !opts.allowFail) {
      throw new Error(`command failed (exit ${result.code ?? result.signal}): ${argv.join(' ')}\n${tail(result)}`);
    }
    return result;
  }

  /**
   * Starts a long-running daemon as postgres, detached, with stdout+stderr appended to `logFile`.
   * The daemon's own PID is written to `pidFile` by a constant `sh -c` wrapper that then
   * `exec`s the daemon (variable text only ever travels as positional arguments).
   */
  async startDaemon(argv: string[], pidFile: string, logFile: string, cwd: string): Promise<number> {
    await fsp.rm(pidFile, { force: true });
    const log = fs.openSync(logFile, 'a');
    try {
      const full = [...this.prefix(), '/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', pidFile, ...argv];
      const child = spawn(full[0]!, full.slice(1), {
        cwd,
        stdio: ['ignore', log, log],
        detached: true,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
      });
      child.unref();
      child.once('error', () => undefined);
    } finally {
      fs.closeSync(log);
    }
    return waitUntil(`pid file ${pidFile}`, async () => readPidFile(pidFile), 10_000, 50);
  }
}

function tail(r: RunResult): string {
  const t = (s: string) => s.trim().split('\n').slice(-25).join('\n');
  return `--- stdout ---\n${t(r.stdout)}\n--- stderr ---\n${t(r.stderr)}`;
}

// ---------------------------------------------------------------- processes

export async function readPidFile(file: string): Promise<number | null> {
  try {
    const first = (await fsp.readFile(file, 'utf8')).split('\n')[0]?.trim() ?? '';
    const pid = Number(first);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

export function pidAlive(pid: number): boolean {
  try {
    // a zombie still "exists" for kill(0); treat zombies as dead
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export interface ProcInfo {
  pid: number;
  cmdline: string;
  cwd: string;
}

function procInfo(pid: number): ProcInfo | null {
  try {
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
    let cwd = '';
    try {
      cwd = fs.readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      /* kernel thread or gone */
    }
    return { pid, cmdline, cwd };
  } catch {
    return null;
  }
}

function under(p: string, dir: string): boolean {
  return p === dir || p.startsWith(dir + '/') || p.startsWith(dir + ' (deleted)');
}

/** True if `pid` is alive and belongs to the given base dir (its cmdline mentions it or its cwd is inside it). */
export function pidBelongsTo(pid: number, baseDir: string): boolean {
  if (!pidAlive(pid)) return false;
  const info = procInfo(pid);
  if (!info) return false;
  return info.cmdline.includes(baseDir + '/') || under(info.cwd, baseDir);
}

/**
 * Every live process that belongs to `baseDir`: its command line names a path inside the base
 * dir, or its working directory is inside it (PostgreSQL backends chdir into their data dir,
 * hooks and daemons are started with a cwd in the base dir). The base dir name is unique
 * (mkdtemp), so this never matches another engineer's processes.
 */
export function processesOf(baseDir: string): ProcInfo[] {
  const self = process.pid;
  const found: ProcInfo[] = [];
  for (const ent of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(ent)) continue;
    const pid = Number(ent);
    if (pid === self) continue;
    const info = procInfo(pid);
    if (!info || !pidAlive(pid)) continue;
    if (info.cmdline.includes(baseDir + '/') || info.cmdline.endsWith(baseDir) || under(info.cwd, baseDir)) {
      found.push(info);
    }
  }
  return found;
}

/** Sends `sig` to `pid` only if it still belongs to `baseDir`. Returns true if signalled. */
export function signalOwn(pid: number | null, baseDir: string, sig: NodeJS.Signals): boolean {
  if (!pid || !pidBelongsTo(pid, baseDir)) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

export async function waitPidGone(pid: number, deadlineMs: number): Promise<boolean> {
  try {
    await waitUntil(`pid ${pid} to exit`, async () => !pidAlive(pid), deadlineMs, 50);
    return true;
  } catch {
    return false;
  }
}

/** Kills (SIGKILL) every remaining process of the base dir, then waits until none is left. */
export async function killAllOf(baseDir: string, deadlineMs: number): Promise<ProcInfo[]> {
  const killed: ProcInfo[] = [];
  const end = Date.now() + deadlineMs;
  for (;;) {
    const procs = processesOf(baseDir);
    if (procs.length === 0) return killed;
    if (Date.now() > end) {
      throw new Error(`processes of ${baseDir} still alive: ${procs.map((p) => `${p.pid} ${p.cmdline}`).join('; ')}`);
    }
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
        if (!killed.some((k) => k.pid === p.pid)) killed.push(p);
      } catch {
        /* gone */
      }
    }
    await delay(50);
  }
}

// ---------------------------------------------------------------- files / base dir

export const BASE_PREFIX = 'vipswitch-drill-';

/** Creates `<tmpdir>/vipswitch-drill-XXXXXX` owned by postgres (0755), with home/, bin/shim/, cmd/, run/. */
export async function makeBaseDir(): Promise<string> {
  const base = await fsp.mkdtemp(path.join(os.tmpdir(), BASE_PREFIX));
  for (const d of ['home', 'bin', 'bin/shim', 'cmd', 'run']) await fsp.mkdir(path.join(base, d), { recursive: true });
  await fsp.writeFile(path.join(base, 'owner.json'), JSON.stringify({ pid: process.pid, started: new Date().toISOString() }) + '\n');
  await chownTreeToPostgres(base);
  await fsp.chmod(base, 0o755);
  return base;
}

export async function chownTreeToPostgres(p: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = postgresUser();
  const st = await fsp.lstat(p);
  await fsp.lchown(p, uid, gid);
  if (st.isDirectory()) {
    for (const e of await fsp.readdir(p)) await chownTreeToPostgres(path.join(p, e));
  }
}

/** Writes a file owned by postgres with the given mode. */
export async function writeOwned(file: string, content: string, mode = 0o644): Promise<void> {
  await fsp.writeFile(file, content, { mode });
  await fsp.chmod(file, mode);
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresUser();
    await fsp.chown(file, uid, gid);
  }
}

export async function mkdirOwned(dir: string, mode = 0o755): Promise<void> {
  await fsp.mkdir(dir, { recursive: true, mode });
  await fsp.chmod(dir, mode);
  if (process.getuid?.() === 0) {
    const { uid, gid } = postgresUser();
    await fsp.chown(dir, uid, gid);
  }
}

// ---------------------------------------------------------------- quoting

const SH_SAFE = /^[A-Za-z0-9_\/.,:=@+-]+$/;
/** POSIX shell quoting (also what Python's shlex.split undoes). */
export function shQuote(s: string): string {
  if (s !== '' && SH_SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------- safety net

const live = new Set<{ baseDir: string; destroyed: boolean }>();
let exitHookInstalled = false;

/**
 * Registers a base dir for a last-resort synchronous cleanup when this Node process exits
 * without destroy() having run (e.g. a crashed test run). Only processes of that base dir are killed.
 */
export function registerForExitCleanup(entry: { baseDir: string; destroyed: boolean }): void {
  live.add(entry);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const e of live) {
      if (e.destroyed) continue;
      for (const p of processesOf(e.baseDir)) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      try {
        fs.rmSync(e.baseDir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

/**
 * Removes leftovers of earlier runs: every `<tmpdir>/vipswitch-drill-*` whose owner process
 * (owner.json) is no longer alive has its processes killed and is deleted. Base dirs of live
 * owners (another engineer's running drill) are left alone.
 */
export async function reapOrphans(log?: LogFn): Promise<string[]> {
  const reaped: string[] = [];
  for (const e of await fsp.readdir(os.tmpdir())) {
    if (!e.startsWith(BASE_PREFIX)) continue;
    const dir = path.join(os.tmpdir(), e);
    let owner: number | undefined;
    try {
      owner = JSON.parse(await fsp.readFile(path.join(dir, 'owner.json'), 'utf8')).pid;
    } catch {
      continue; // not one of ours, or still being created
    }
    if (owner && pidAlive(owner)) continue;
    await killAllOf(dir, 10_000);
    // the network namespaces a keepalived drill made (local/drill/netns.ts)
    try {
      const { namespaces } = JSON.parse(await fsp.readFile(path.join(dir, NETNS_FILE), 'utf8')) as { namespaces?: string[] };
      for (const ns of namespaces ?? []) deleteNamespaceSync(ns);
    } catch {
      // none
    }
    await fsp.rm(dir, { recursive: true, force: true });
    log?.(`reaped orphaned drill dir ${dir}`);
    reaped.push(dir);
  }
  return reaped;
}
