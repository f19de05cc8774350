/**
 * Stand-ins for the node-side binaries the hook runs with an argv: `psql` against pgbouncer's admin console, and
 * `pcp_watchdog_info`. Each is a small Node script written into a test directory (Node is what runs the tests, so it
 * is there), that logs every argv it gets as one JSON line and answers like the real tool:
 * - psql: pgbouncer 1.18's `SHOW DATABASES` (header and row format of a real 1.18, see test/unit/pgbouncer.test.ts),
 *   `DISABLE` / `ENABLE` / `KILL` / `RESUME` (with 1.18's `database X is not paused` error), state kept in a file;
 * - pcp_watchdog_info: prints a file's content (a captured `-v` answer), or fails / hangs as told.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The 1.18 header of SHOW DATABASES (read from a real pgbouncer 1.18.0 run with `psql -A`). */
export const SHOW_DATABASES_HEADER = 'name|host|port|database|force_user|pool_size|min_pool_size|reserve_pool|pool_mode|max_connections|current_connections|paused|disabled';

const FAKE_PSQL = String.raw`#!/usr/bin/env node
// Fake psql for pgbouncer's admin console (vipswitch tests).
const fs = require('fs');
const dir = __dirname;
const argv = process.argv.slice(2);
fs.appendFileSync(dir + '/psql-calls.jsonl', JSON.stringify(argv) + '\n');
const mode = fs.existsSync(dir + '/psql-mode') ? fs.readFileSync(dir + '/psql-mode', 'utf8').trim() : 'ok';
if (mode === 'hang') setInterval(() => {}, 1000);
else if (mode === 'refused') { process.stderr.write('psql: error: connection to server on socket "/tmp/.s.PGSQL.6432" failed: No such file or directory\n'); process.exit(2); }
else {
  const statePath = dir + '/pgbouncer-state.json';
  const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
  const commands = [];
  for (let i = 0; i < argv.length; i++) if (argv[i] === '-c') commands.push(argv[++i]);
  let out = '';
  let failed = null;
  for (const command of commands) {
    const m = /^(SHOW DATABASES|DISABLE|ENABLE|KILL|RESUME)(?: "((?:[^"]|"")*)")?$/.exec(command);
    if (!m) { failed = 'ERROR:  invalid command'; break; }
    const name = m[2] === undefined ? null : m[2].replace(/""/g, '"');
    if (m[1] === 'SHOW DATABASES') {
      out += '${SHOW_DATABASES_HEADER}\n';
      for (const [db, s] of Object.entries(state)) out += db + '|127.0.0.1|5432|' + db + '||20|0|0||0|0|' + (s.paused ? 1 : 0) + '|' + (s.disabled ? 1 : 0) + '\n';
      out += 'pgbouncer||6432|pgbouncer|pgbouncer|2|0|0|statement|0|0|0|0\n';
      continue;
    }
    const db = state[name];
    if (!db) { failed = 'ERROR:  no such database: ' + name; break; }
    if (m[1] === 'DISABLE') db.disabled = true;
    if (m[1] === 'ENABLE') db.disabled = false;
    if (m[1] === 'KILL') db.paused = true;
    if (m[1] === 'RESUME') { if (!db.paused) { failed = 'ERROR:  database ' + name + ' is not paused'; break; } db.paused = false; }
  }
  fs.writeFileSync(statePath, JSON.stringify(state));
  process.stdout.write(out);
  if (failed) { process.stderr.write(failed + '\n'); process.exit(1); }
}
`;

const FAKE_PCP = String.raw`#!/usr/bin/env node
// Fake pcp_watchdog_info (vipswitch tests).
const fs = require('fs');
const dir = __dirname;
fs.appendFileSync(dir + '/pcp-calls.jsonl', JSON.stringify({ argv: process.argv.slice(2), pcppassfile: process.env.PCPPASSFILE ?? null, at: Date.now() }) + '\n');
const mode = fs.existsSync(dir + '/pcp-mode') ? fs.readFileSync(dir + '/pcp-mode', 'utf8').trim() : 'ok';
if (mode === 'hang') setInterval(() => {}, 1000);
else if (mode === 'socket') { process.stderr.write('ERROR: unable to read data from socket.\n'); process.exit(1); }
else process.stdout.write(fs.readFileSync(dir + '/pcp-answer.txt', 'utf8'));
`;

export interface FakePsql {
  path: string;
  /** The argv of every call, in order. */
  calls(): string[][];
  /** The `-c` commands of every call, in order. */
  commands(): string[][];
  state(): Record<string, { paused: boolean; disabled: boolean }>;
  setState(state: Record<string, { paused: boolean; disabled: boolean }>): void;
  /** `ok`, `refused` (exit 2, as with no pgbouncer listening), `hang` (never answers). */
  setMode(mode: 'ok' | 'refused' | 'hang'): void;
}

/** A fake `psql` at `<dir>/psql`, pgbouncer's databases as `state` (default: `appdb` serving). */
export function writeFakePsql(dir: string, state: Record<string, { paused: boolean; disabled: boolean }> = { appdb: { paused: false, disabled: false } }): FakePsql {
  const path = join(dir, 'psql');
  writeFileSync(path, FAKE_PSQL);
  chmodSync(path, 0o755);
  writeFileSync(join(dir, 'pgbouncer-state.json'), JSON.stringify(state));
  const calls = (): string[][] => (existsSync(join(dir, 'psql-calls.jsonl')) ? readFileSync(join(dir, 'psql-calls.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as string[]) : []);
  return {
    path,
    calls,
    commands: () => calls().map((argv) => argv.flatMap((arg, i) => (argv[i - 1] === '-c' ? [arg] : []))),
    state: () => JSON.parse(readFileSync(join(dir, 'pgbouncer-state.json'), 'utf8')),
    setState: (next) => writeFileSync(join(dir, 'pgbouncer-state.json'), JSON.stringify(next)),
    setMode: (mode) => writeFileSync(join(dir, 'psql-mode'), mode),
  };
}

export interface FakePcp {
  path: string;
  calls(): { argv: string[]; pcppassfile: string | null; at: number }[];
  /** What `-v` prints next (a captured answer). */
  answer(stdout: string): void;
  /** `ok`, `socket` (1.18's `unable to read data from socket`, exit 1), `hang`. */
  setMode(mode: 'ok' | 'socket' | 'hang'): void;
}

/** A fake `pcp_watchdog_info` at `<dir>/pcp_watchdog_info`. */
export function writeFakePcp(dir: string, stdout: string): FakePcp {
  const path = join(dir, 'pcp_watchdog_info');
  writeFileSync(path, FAKE_PCP);
  chmodSync(path, 0o755);
  writeFileSync(join(dir, 'pcp-answer.txt'), stdout);
  return {
    path,
    calls: () => (existsSync(join(dir, 'pcp-calls.jsonl')) ? readFileSync(join(dir, 'pcp-calls.jsonl'), 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)) : []),
    answer: (text) => writeFileSync(join(dir, 'pcp-answer.txt'), text),
    setMode: (mode) => writeFileSync(join(dir, 'pcp-mode'), mode),
  };
}
