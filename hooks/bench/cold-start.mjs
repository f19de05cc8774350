#!/usr/bin/env node
// Cold wall time of the bundled hook: 20 sequential `vipswitch-hook repmgr standby_promote ...` processes (the way
// repmgr runs it), each delivering to a node:http receiver on 127.0.0.1 that answers 200. Prints the median.
//   node hooks/bench/cold-start.mjs                      # --facts-json, no probe
//   node hooks/bench/cold-start.mjs <pg socket dir> <port>   # with the psql probe against that server
// Build first: node scripts/build-hook.mjs
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const bundle = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'vipswitch-hook.cjs');
const [pgHost, pgPort = '5432'] = process.argv.slice(2);
const RUNS = 20;
let delivered = 0;
let lastFacts;
const server = createServer((req, res) => {
  let body = '';
  req.on('data', (chunk) => (body += chunk));
  req.on('end', () => {
    delivered++;
    lastFacts = JSON.parse(body).facts;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"decision":"accepted","code":"accepted"}');
  });
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const dir = mkdtempSync(join(tmpdir(), 'vipswitch-bench-'));
try {
  writeFileSync(join(dir, 'key'), 'bench-key\n', { mode: 0o600 });
  const config = join(dir, 'hook.json');
  writeFileSync(config, JSON.stringify({
    endpoint: `http://127.0.0.1:${server.address().port}/v1/events`, cluster: 'pg-main', node: 'node2', keyFile: join(dir, 'key'), spoolDir: join(dir, 'spool'),
    pg: { host: pgHost ?? join(dir, 'no-server'), port: Number(pgPort), user: 'postgres', dbname: 'postgres', psql: '/usr/lib/postgresql/15/bin/psql' },
  }));
  const facts = pgHost ? [] : ['--facts-json', '{"inRecovery":false,"timeline":2,"lsn":"0/3000060","systemIdentifier":"7710811430681400266"}'];
  const args = ['--config', config, ...facts, 'repmgr', '2', 'standby_promote', '1', '2026-11-22 02:08:22.720578+00', 'server "node2" (ID: 2) was successfully promoted to primary', '', '', ''];
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    const code = await new Promise((resolve) => spawn(bundle, args, { stdio: 'ignore' }).on('close', resolve));
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
    if (code !== 0) throw new Error(`hook exited ${code}`);
  }
  times.sort((a, b) => a - b);
  const median = (times[RUNS / 2 - 1] + times[RUNS / 2]) / 2;
  console.log(JSON.stringify({ runs: RUNS, delivered, probe: Boolean(pgHost), medianMs: +median.toFixed(1), minMs: +times[0].toFixed(1), maxMs: +times[RUNS - 1].toFixed(1), lastFacts }));
} finally {
  server.close();
  rmSync(dir, { recursive: true, force: true });
}
