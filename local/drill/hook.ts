/**
 * Hook wiring: which command repmgr / Patroni call, its per-node JSON config, and a built-in
 * "recording" hook that appends each call as one JSON line to `<base>/hook-calls.jsonl`.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { PG_BIN, LOOPBACK, PgRunner, mkdirOwned, postgresUser, writeOwned, waitUntil } from './util';

export interface NodeInfo {
  /** node1.. (repmgr, keepalived), pg1.. (Patroni) or pgpool1.. (Pgpool-II members) */
  name: string;
  /** 1-based; the repmgr node_id */
  id: number;
  /** PostgreSQL TCP port on 127.0.0.1 (a Pgpool-II member: its pgpool's port, where clients connect) */
  port: number;
  dataDir: string;
  /** `<base>/<name>`: configs, logs, pid files, hook.json */
  dir: string;
  kind: 'repmgr' | 'patroni' | 'pgpool';
  /** the cluster's base dir (`<tmpdir>/vipswitch-drill-XXXXXX`), owned by postgres */
  baseDir: string;
  /** Patroni REST API port (Patroni members only) */
  restPort?: number;
}

export interface HookWiring {
  /**
   * argv prefix of the hook, e.g. `['/usr/bin/node', '/path/vipswitch-hook.cjs']`.
   * Absolute paths the postgres user cannot read are copied into `<base>/bin/`.
   * The entry `@drill/record-hook.cjs` names the built-in recording hook (see {@link recordingHook}).
   */
  command: string[];
  /** Hook config for one node; merged with `{ pg: {...} }` and written to `<base>/<node>/hook.json`. */
  configFor(node: NodeInfo): Record<string, unknown>;
  /**
   * Extra files the hook needs (e.g. a key file), written before anything starts to
   * `<base>/<relative path>`, owned by postgres, mode 0600. Reference them from configFor via
   * `path.join(node.baseDir, relativePath)`.
   */
  files?: Record<string, string | Uint8Array>;
}

/** Built-in script name understood in {@link HookWiring.command}. */
export const RECORD_HOOK = '@drill/record-hook.cjs';

/** Source of the recording hook (CommonJS so it runs with plain node, regardless of package type). */
const RECORD_HOOK_SOURCE = `'use strict';
// vipswitch drill recording hook: appends one JSON line per call to <base>/hook-calls.jsonl,
// where <base> is derived from "--config <base>/<node>/hook.json". Always exits 0, fast.
const fs = require('fs');
const path = require('path');
const argv = process.argv.slice(2);
const i = argv.indexOf('--config');
const cfgPath = i >= 0 ? argv[i + 1] : undefined;
let cfg = {};
try { cfg = JSON.parse(fs.readFileSync(cfgPath, 'utf8')); } catch (e) { cfg = { error: String(e) }; }
const rest = i >= 0 ? argv.slice(0, i).concat(argv.slice(i + 2)) : argv;
const base = cfgPath ? path.dirname(path.dirname(cfgPath)) : process.cwd();
const rec = { t: Date.now(), node: cfg.node === undefined ? null : cfg.node, tool: rest[0] === undefined ? null : rest[0], args: rest.slice(1), argv: argv, pid: process.pid, ppid: process.ppid };
try { fs.appendFileSync(path.join(base, 'hook-calls.jsonl'), JSON.stringify(rec) + '\\n'); } catch (e) { process.stderr.write('record-hook: ' + e + '\\n'); }
`;

/** The recording hook: `node <base>/bin/record-hook.cjs --config ... <tool> <args...>`. */
export function recordingHook(): HookWiring {
  return {
    command: [process.execPath, RECORD_HOOK],
    configFor: (node) => ({ node: node.name, kind: node.kind }),
  };
}

/** One recorded hook call, as parsed from `<base>/hook-calls.jsonl`. */
export interface HookCall {
  /** epoch ms when the hook ran */
  t: number;
  /** the node the hook was configured for (from hook.json `node`) */
  node: string | null;
  tool: 'repmgr' | 'patroni' | string | null;
  /** repmgr: [%n, %e, %s, %t, %d, %a, %c, %p]; Patroni: [action, role, scope] */
  args: string[];
  /** repmgr: %e (event); Patroni: the action (on_start, on_role_change, ...) */
  event: string;
  /** Patroni only: role (master, replica, demoted, ...) */
  role?: string;
  /** repmgr only: %s === '1' */
  success?: boolean;
}

export async function readHookCalls(baseDir: string): Promise<HookCall[]> {
  let text: string;
  try {
    text = await fsp.readFile(path.join(baseDir, 'hook-calls.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const calls: HookCall[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let raw: { t: number; node: string | null; tool: string | null; args: string[] };
    try {
      raw = JSON.parse(line);
    } catch {
      continue; // a line still being written
    }
    const args = raw.args ?? [];
    if (raw.tool === 'repmgr') {
      calls.push({ t: raw.t, node: raw.node, tool: raw.tool, args, event: args[1] ?? '', success: args[2] === '1' });
    } else if (raw.tool === 'patroni') {
      calls.push({ t: raw.t, node: raw.node, tool: raw.tool, args, event: args[0] ?? '', role: args[1] ?? '' });
    } else {
      calls.push({ t: raw.t, node: raw.node, tool: raw.tool, args, event: args[0] ?? '' });
    }
  }
  return calls;
}

/** Polls hook-calls.jsonl until a call matches `pred` (returns it) or the deadline passes. */
export function waitForHookCall(
  baseDir: string,
  pred: (c: HookCall) => boolean,
  deadlineMs: number,
  what = 'hook call',
): Promise<HookCall> {
  return waitUntil(what, async () => (await readHookCalls(baseDir)).find(pred), deadlineMs, 100);
}

/**
 * Makes the hook command runnable by postgres: built-in scripts are written to `<base>/bin/`,
 * absolute paths postgres cannot read are copied there. Returns the argv to use.
 */
export async function materializeHookCommand(runner: PgRunner, command: string[]): Promise<string[]> {
  if (command.length === 0) throw new Error('hook.command must not be empty');
  const binDir = path.join(runner.baseDir, 'bin');
  const out: string[] = [];
  for (const [i, arg] of command.entries()) {
    if (arg === RECORD_HOOK) {
      const dest = path.join(binDir, 'record-hook.cjs');
      await writeOwned(dest, RECORD_HOOK_SOURCE, 0o755);
      out.push(dest);
      continue;
    }
    if (path.isAbsolute(arg) && (await isFile(arg))) {
      const need = i === 0 ? '-x' : '-r';
      const ok = await runner.run(['test', need, arg], { allowFail: true });
      if (ok.code !== 0) {
        const dest = path.join(binDir, `${i}-${path.basename(arg)}`);
        await fsp.copyFile(arg, dest);
        const mode = (await fsp.stat(arg)).mode & 0o111 ? 0o755 : 0o644;
        await fsp.chmod(dest, mode);
        await writeOwnedChown(dest);
        out.push(dest);
        continue;
      }
    }
    out.push(arg);
  }
  return out;
}

async function writeOwnedChown(file: string): Promise<void> {
  if (process.getuid?.() !== 0) return;
  const { uid, gid } = postgresUser();
  await fsp.chown(file, uid, gid);
}

async function isFile(p: string): Promise<boolean> {
  try {
    return (await fsp.stat(p)).isFile();
  } catch {
    return false;
  }
}

/** Writes HookWiring.files under the base dir (owned by postgres, 0600; parent dirs 0755). */
export async function writeHookFiles(baseDir: string, files: Record<string, string | Uint8Array> | undefined): Promise<void> {
  for (const [rel, content] of Object.entries(files ?? {})) {
    const dest = path.resolve(baseDir, rel);
    if (path.isAbsolute(rel) || !dest.startsWith(baseDir + '/')) throw new Error(`hook.files: ${rel} must be a relative path inside the base dir`);
    const parts = path.relative(baseDir, path.dirname(dest)).split('/').filter(Boolean);
    let dir = baseDir;
    for (const part of parts) {
      dir = path.join(dir, part);
      await mkdirOwned(dir, 0o755);
    }
    await fsp.writeFile(dest, content, { mode: 0o600 });
    await fsp.chmod(dest, 0o600);
    await writeOwnedChown(dest);
  }
}

/** Writes `<node.dir>/hook.json` = configFor(node) merged with the local pg connection. Returns its path. */
export async function writeHookConfig(hook: HookWiring, node: NodeInfo): Promise<string> {
  await mkdirOwned(node.dir);
  const cfg = hook.configFor(node);
  const pgFromCfg = (cfg.pg && typeof cfg.pg === 'object' ? cfg.pg : {}) as Record<string, unknown>;
  const merged = {
    ...cfg,
    pg: {
      ...pgFromCfg,
      host: LOOPBACK,
      port: node.port,
      user: 'postgres',
      dbname: 'postgres',
      psql: `${PG_BIN}/psql`,
    },
  };
  const file = path.join(node.dir, 'hook.json');
  await writeOwned(file, JSON.stringify(merged, null, 2) + '\n', 0o644);
  return file;
}
