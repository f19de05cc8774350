/**
 * The drill harness against a REAL Patroni 3.0.2 + etcd 3.4 (v3 API) + PostgreSQL 15 cluster on
 * 127.0.0.1, with the built-in recording hook. The tests run in order on one cluster (build →
 * switchover → hard kill of the leader → restart of the old leader → destroy); afterAll destroys
 * it even when a step failed.
 *
 * DRILL_VERBOSE=1 prints the live timeline; DRILL_LOGS_DIR=<dir> keeps the cluster's logs.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PatroniCluster, recordingHook, pidAlive, portOpen, processesOf } from '../../local/drill';
import { waitUntil } from '../../local/drill/util';

const log = (m: string) => {
  if (process.env.DRILL_VERBOSE) process.stdout.write(m + '\n');
};

describe('PatroniCluster (real Patroni + etcd + PostgreSQL 15 on 127.0.0.1)', () => {
  let c: PatroniCluster | undefined;

  const cluster = (): PatroniCluster => {
    if (!c) throw new Error('cluster was not built');
    return c;
  };

  afterAll(async () => {
    if (!c) return;
    if (process.env.DRILL_LOGS_DIR && !c.destroyed) await c.collectLogs(path.join(process.env.DRILL_LOGS_DIR, 'patroni'));
    await c.destroy();
    if (process.env.DRILL_VERBOSE) process.stdout.write(`timings: ${JSON.stringify(c.timings)}\n`);
  }, 60_000);

  it('builds etcd + pg1 (leader) + pg2, pg3 and the on_start callbacks fire', async () => {
    c = await PatroniCluster.create({ hook: recordingHook(), log });
    const cl = cluster();
    expect(cl.members.map((m) => m.name)).toEqual(['pg1', 'pg2', 'pg3']);
    const ports = [cl.etcdPort, ...cl.members.flatMap((m) => [m.port, m.restPort!])];
    expect(new Set(ports).size).toBe(7);
    expect(await cl.leader()).toBe('pg1');
    const status = await cl.clusterStatus();
    expect(status.map((s) => [s.name, s.role, s.state])).toEqual([
      ['pg1', 'leader', 'running'],
      ['pg2', 'replica', 'running'],
      ['pg3', 'replica', 'running'],
    ]);
    expect(await cl.pgPrimaries()).toEqual(['pg1']);
    expect(await cl.timeline('pg1')).toBe(1);
    expect(await cl.systemIdentifier()).toMatch(/^\d{10,}$/);

    const cfg = JSON.parse(readFileSync(path.join(cl.members[2]!.dir, 'hook.json'), 'utf8'));
    expect(cfg).toEqual({
      node: 'pg3',
      kind: 'patroni',
      pg: { host: '127.0.0.1', port: cl.members[2]!.port, user: 'postgres', dbname: 'postgres', psql: '/usr/lib/postgresql/15/bin/psql' },
    });

    const start = await cl.waitForHookCall((x) => x.node === 'pg1' && x.event === 'on_start', 10_000);
    expect(start.args).toEqual(['on_start', 'master', cl.scope]);
    for (const m of ['pg2', 'pg3']) {
      const s = await cl.waitForHookCall((x) => x.node === m && x.event === 'on_start', 10_000);
      expect(s.role).toBe('replica');
    }
  }, 120_000);

  it('switchover pg1 → pg2: on_role_change master fires on the candidate, pg1 is demoted', async () => {
    const cl = cluster();
    const t0 = Date.now();
    await cl.switchover('pg2');
    expect(await cl.leader()).toBe('pg2');
    expect(await cl.pgPrimaries()).toEqual(['pg2']);
    expect(await cl.timeline('pg2')).toBe(2);
    const promoted = await cl.waitForHookCall((x) => x.node === 'pg2' && x.event === 'on_role_change' && x.t >= t0, 15_000);
    expect(promoted.args).toEqual(['on_role_change', 'master', cl.scope]);
    await cl.waitForHookCall((x) => x.node === 'pg1' && x.event === 'on_stop' && x.role === 'demoted' && x.t >= t0, 15_000);
    await cl.waitForHookCall((x) => x.node === 'pg1' && x.event === 'on_role_change' && x.role === 'replica' && x.t >= t0, 15_000);
  }, 120_000);

  it('hard kill of the leader (postmaster + Patroni): another member becomes leader within the ttl-bound deadline', async () => {
    const cl = cluster();
    const t0 = Date.now();
    const killed = await cl.killLeaderHard();
    expect(killed).toBe('pg2');
    const leader = await cl.waitForLeader('pg2', 30_000);
    expect(['pg1', 'pg3']).toContain(leader);
    await cl.waitForHookCall((x) => x.node === leader && x.event === 'on_role_change' && x.role === 'master' && x.t >= t0, 15_000);
    expect(await cl.timeline(leader)).toBe(3);
    // the dead member produced no callback after the kill
    expect((await cl.hookCalls()).filter((x) => x.node === 'pg2' && x.t >= t0)).toEqual([]);
  }, 90_000);

  it('restartMember brings the old leader back as a streaming replica (pg_rewind on its own)', async () => {
    const cl = cluster();
    const t0 = Date.now();
    const leader = await cl.leader();
    await cl.restartMember('pg2');
    expect(await cl.leader()).toBe(leader);
    expect(await cl.inRecovery('pg2')).toBe(true);
    expect(await cl.timeline('pg2')).toBe(3);
    const st = await cl.waitForHookCall((x) => x.node === 'pg2' && x.event === 'on_start' && x.t >= t0, 15_000);
    expect(st.role).toBe('replica');
  }, 120_000);

  it('destroy stops every process of the cluster (Patroni, PostgreSQL, etcd) and removes its base dir', async () => {
    const cl = cluster();
    const base = cl.baseDir;
    const procs = cl.processes();
    expect(procs.filter((p) => /^\/usr\/bin\/python3 \/usr\/bin\/patroni /.test(p.cmdline))).toHaveLength(3);
    expect(procs.filter((p) => /^\/usr\/bin\/etcd /.test(p.cmdline))).toHaveLength(1);
    expect(procs.filter((p) => /^\/usr\/lib\/postgresql\/15\/bin\/postgres -D/.test(p.cmdline))).toHaveLength(3);

    await cl.destroy();
    expect(processesOf(base)).toEqual([]);
    for (const p of procs) expect(pidAlive(p.pid)).toBe(false);
    for (const port of [cl.etcdPort, ...cl.members.flatMap((m) => [m.port, m.restPort!])]) expect(await portOpen(port)).toBe(false);
    expect(existsSync(base)).toBe(false);
    await cl.destroy();
    expect(cl.destroyed).toBe(true);
  }, 90_000);
});

/** A hook outside postgres' reach is copied, extra files are provided, and odd argv survives YAML + shlex. */
describe('PatroniCluster hook wiring (1 member, custom sh hook)', () => {
  let c: PatroniCluster | undefined;
  const privateDir = mkdtempSync(path.join(os.tmpdir(), 'drill-private-hook-'));
  const ODD = `a b 'c' "d" %n $HOME \\x`;

  afterAll(async () => {
    await c?.destroy();
    rmSync(privateDir, { recursive: true, force: true });
  }, 60_000);

  it('copies an unreadable hook into <base>/bin, writes hook.files, and passes every argv element verbatim', async () => {
    const script = path.join(privateDir, 'hook.sh');
    // argv: $1 = ODD, $2 = --config, $3 = hook.json, $4 = patroni, $5 = action, $6 = role, $7 = scope
    writeFileSync(
      script,
      '#!/bin/sh\nd=$(dirname "$3")\nkey=$(cat "$(dirname "$d")/secret/key")\nprintf \'%s|%s|%s|%s|%s|%s\\n\' "$4" "$5" "$6" "$7" "$key" "$1" >> "$d/custom-hook.log"\n',
    );
    chmodSync(script, 0o755);
    chmodSync(privateDir, 0o700); // postgres cannot traverse it
    c = await PatroniCluster.create({
      members: 1,
      log,
      hook: {
        command: ['/bin/sh', script, ODD],
        files: { 'secret/key': 'k3y' },
        configFor: (n) => ({ node: n.name, keyFile: path.join(n.baseDir, 'secret', 'key') }),
      },
    });
    const cl = c;
    const m = cl.members[0]!;
    expect(await cl.leader()).toBe('pg1');
    const line = `patroni|on_start|master|${cl.scope}|k3y|${ODD}`;
    const logFile = path.join(m.dir, 'custom-hook.log');
    // Patroni runs callbacks asynchronously: poll the hook's own log with a deadline
    const read = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n') : []);
    await waitUntil('the custom hook to log on_start', () => read().includes(line), 15_000, 100).catch(() => undefined);
    expect(read()).toContain(line);
    expect(readFileSync(path.join(cl.baseDir, 'pg1', 'patroni.yml'), 'utf8')).toContain(path.join(cl.baseDir, 'bin', '1-hook.sh'));
  }, 60_000);
});
