/**
 * Running the REAL bundled hook (hooks/dist/vipswitch-hook.cjs, built by scripts/build-hook.mjs) as a child process
 * against a node:http receiver on 127.0.0.1, for the hook-*.test.ts integration files. {@link useHookBundle}
 * registers the file's hooks: build the bundle once, clean up after each test and after the file.
 * Module state (processes, receivers, temp dirs) is per test file under jest.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { HEADER, verifySignature } from '../../shared/protocol/signature';
import { removeTempDirs, tempDir } from './temp';

export const ROOT = join(__dirname, '..', '..');
export const BUNDLE = join(ROOT, 'hooks', 'dist', 'vipswitch-hook.cjs');
export const PSQL = '/usr/lib/postgresql/15/bin/psql';
/** node2's key: {@link writeHookSetup} writes it to the key file, {@link signatureOk} checks requests with it. */
export const KEY = 'node2-shared-secret-for-tests';
export const PRIMARY_FACTS = { inRecovery: false, timeline: 2, lsn: '0/3000060', systemIdentifier: '7710811430681400266' };

// ---------------------------------------------------------------------------------------------------------------
// Receivers

/** Listen on 127.0.0.1:`port` (0: any free port). */
async function listen(server: Server, port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
}

/** The events endpoint the hook posts to, on 127.0.0.1: subclasses record and answer each request. */
export abstract class EventsReceiver {
  private server: Server | null = null;

  async start(port = 0): Promise<number> {
    const server = createServer((req, res) => this.handle(req, res));
    await listen(server, port);
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/v1/events`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  protected abstract handle(req: IncomingMessage, res: ServerResponse): void;
}

/** Call `done` with the request's whole body once it has arrived. */
export function onBody(req: IncomingMessage, done: (rawBody: string) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
}

/** Whether `rawBody` is signed with {@link KEY} (wire contract headers), at a timestamp within 30 s of now. */
export function signatureOk(req: IncomingMessage, rawBody: string): boolean {
  const timestamp = String(req.headers[HEADER.timestamp] ?? '');
  return Math.abs(Date.now() / 1000 - Number(timestamp)) < 30 && verifySignature(KEY, timestamp, rawBody, String(req.headers[HEADER.signature] ?? ''));
}

const receivers: EventsReceiver[] = [];

/** Start `receiver` on `port` (0: any free port); it is stopped after the test. */
export async function startForTest<R extends EventsReceiver>(receiver: R, port = 0): Promise<R> {
  receivers.push(receiver);
  await receiver.start(port);
  return receiver;
}

/** An events URL nothing listens on (a port bound, then released). */
export async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await listen(server, 0);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/events`;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return url;
}

// ---------------------------------------------------------------------------------------------------------------
// Running the bundle

export interface HookRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

const children = new Set<ChildProcess>();
const extraPids = new Set<number>();

/**
 * Environment of the hook: PATH and HOME only, nothing of ours (no VIPSWITCH_* leaks in from the test runner).
 * HOOK_TEST_PATH replaces PATH for the hook alone: its shebang then finds another node, e.g. Node 18 (Debian 12).
 */
export function hookEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.HOOK_TEST_PATH || process.env.PATH || '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', LANG: 'C.UTF-8', ...extra };
}

/** Start the bundle itself (its shebang and mode are part of what is tested), in its own process group. */
export function startHook(args: string[], env: Record<string, string> = {}): { child: ChildProcess; done: Promise<HookRun> } {
  const started = performance.now();
  const child = spawn(BUNDLE, args, { env: hookEnv(env), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<HookRun>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      children.delete(child);
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
  return { child, done };
}

export function runHook(args: string[], env: Record<string, string> = {}): Promise<HookRun> {
  return startHook(args, env).done;
}

/** SIGKILL `pid` after the test too (a process the hook started, e.g. a probe left hanging). */
export function killAfterTest(pid: number): void {
  extraPids.add(pid);
}

// ---------------------------------------------------------------------------------------------------------------
// Config and spool

export interface HookSetup {
  dir: string;
  spoolDir: string;
  config: string;
}

export function writeConfig(path: string, config: Record<string, unknown>): void {
  writeFileSync(path, JSON.stringify(config, null, 2));
}

/**
 * A temp dir (`prefix`…) with node2's key file and a hook config for pg-main/node2 posting to `endpoint` (the probe
 * points at a socket dir that does not exist); `extra(dir)` adds or overrides fields.
 */
export function writeHookSetup(prefix: string, endpoint: string, extra: (dir: string) => Record<string, unknown> = () => ({})): HookSetup {
  const dir = tempDir(prefix);
  const keyFile = join(dir, 'node2.key');
  writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
  const spoolDir = join(dir, 'spool');
  const config = join(dir, 'hook.json');
  writeConfig(config, {
    endpoint,
    cluster: 'pg-main',
    node: 'node2',
    keyFile,
    spoolDir,
    timeoutMs: 2000,
    promoteWaitMs: 500,
    probeTimeoutMs: 800,
    pg: { host: join(dir, 'no-such-socket-dir'), port: 5432, user: 'postgres', dbname: 'postgres', psql: PSQL },
    ...extra(dir),
  });
  return { dir, spoolDir, config };
}

/** The spool's record files (not temp files), sorted: oldest first. */
export function pending(spoolDir: string): string[] {
  if (!existsSync(spoolDir)) return [];
  return readdirSync(spoolDir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.json') && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

// ---------------------------------------------------------------------------------------------------------------

/**
 * Register the test file's hooks: build the bundle before all; after each test SIGKILL the hooks' process groups
 * and {@link killAfterTest} pids, and stop the receivers; after all, remove the temp dirs.
 */
export function useHookBundle(): void {
  beforeAll(() => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'build-hook.mjs')], { cwd: ROOT, stdio: 'pipe' });
  }, 60_000);

  afterEach(async () => {
    for (const child of children) {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const pid of extraPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    extraPids.clear();
    for (const receiver of receivers.splice(0)) await receiver.stop();
  });

  afterAll(() => removeTempDirs());
}
