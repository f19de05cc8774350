/**
 * The drill harness against a REAL repmgr 5.3 / PostgreSQL 15 cluster on 127.0.0.1, with the
 * built-in recording hook. The tests run in order on one cluster (build → failover → rejoin →
 * switchover → split brain → destroy); afterAll destroys it even when a step failed.
 *
 * DRILL_VERBOSE=1 prints the live timeline; DRILL_LOGS_DIR=<dir> keeps the cluster's logs.
 */
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RepmgrCluster, recordingHook, pidAlive, portOpen, processesOf, type HookCall } from '../../local/drill';

const timeline: string[] = [];
const log = (m: string) => {
  timeline.push(m);
  if (process.env.DRILL_VERBOSE) process.stdout.write(m + '\n');
};

describe('RepmgrCluster (real repmgr + PostgreSQL 15 on 127.0.0.1)', () => {
  let c: RepmgrCluster | undefined;

  const cluster = (): RepmgrCluster => {
    if (!c) throw new Error('cluster was not built');
    return c;
  };
  const calls = (pred: (x: HookCall) => boolean) => cluster().hookCalls().then((all) => all.filter(pred));

  afterAll(async () => {
    if (!c) return;
    if (process.env.DRILL_LOGS_DIR && !c.destroyed) await c.collectLogs(path.join(process.env.DRILL_LOGS_DIR, 'repmgr'));
    await c.destroy();
    if (process.env.DRILL_VERBOSE) process.stdout.write(`timings: ${JSON.stringify(c.timings)}\n`);
  }, 60_000);

  it('builds node1 primary + 2 clones with repmgrd, and the registration hooks fire', async () => {
    c = await RepmgrCluster.create({ hook: recordingHook(), log });
    const cl = cluster();
    expect(cl.nodes.map((n) => n.name)).toEqual(['node1', 'node2', 'node3']);
    expect(new Set(cl.nodes.map((n) => n.port)).size).toBe(3);
    expect(cl.baseDir.startsWith('/')).toBe(true);
    expect(await cl.primary()).toBe('node1');
    expect(await cl.states()).toEqual({ node1: false, node2: true, node3: true });
    for (const n of cl.nodes) expect(await cl.timeline(n.name)).toBe(1);
    expect(await cl.systemIdentifier()).toMatch(/^\d{10,}$/);

    // hook config: configFor(node) merged with the local pg connection
    const cfg = JSON.parse(readFileSync(path.join(cl.nodes[1]!.dir, 'hook.json'), 'utf8'));
    expect(cfg).toEqual({
      node: 'node2',
      kind: 'repmgr',
      pg: { host: '127.0.0.1', port: cl.nodes[1]!.port, user: 'postgres', dbname: 'postgres', psql: '/usr/lib/postgresql/15/bin/psql' },
    });

    await cl.waitForHookCall((x) => x.node === 'node1' && x.event === 'primary_register' && x.success === true, 10_000);
    for (const n of ['node2', 'node3']) {
      const reg = await cl.waitForHookCall((x) => x.node === n && x.event === 'standby_register', 10_000);
      expect(reg.success).toBe(true);
      expect(reg.args[0]).toBe(n.slice(-1)); // %n = node id
      expect(reg.args[5]).toBe('node1'); // %a = the upstream's name
    }
    for (const n of cl.nodes) await cl.waitForHookCall((x) => x.node === n.name && x.event === 'repmgrd_start', 10_000);
  }, 120_000);

  it('kill -9 of the primary: repmgrd promotes a standby within the deadline and standby_promote fires', async () => {
    const cl = cluster();
    const t0 = Date.now();
    await cl.killPostmaster('node1');
    const p = await cl.waitForPrimary('node1', 30_000);
    expect(['node2', 'node3']).toContain(p);
    const promote = await cl.waitForHookCall((x) => x.node === p && x.event === 'standby_promote' && x.t >= t0, 30_000);
    expect(promote.success).toBe(true);
    expect(promote.args[0]).toBe(p.slice(-1));
    await cl.waitForHookCall((x) => x.node === p && x.event === 'repmgrd_failover_promote' && x.t >= t0, 30_000);
    const sibling = p === 'node2' ? 'node3' : 'node2';
    await cl.waitForHookCall((x) => x.node === sibling && x.event === 'repmgrd_failover_follow' && x.t >= t0, 30_000);
    expect(await cl.waitFailoverComplete('node1', 30_000)).toBe(p); // the sibling streams from p
    expect(await cl.timeline(p)).toBe(2);
    expect(await cl.states()).toEqual({ node1: null, [p]: false, [sibling]: true });
  }, 90_000);

  it('rejoins the crashed old primary with --force-rewind (its port survives) and switches over back to it', async () => {
    const cl = cluster();
    const before = await cl.primary();
    await cl.rejoin('node1');
    expect(await cl.primary()).toBe(before);
    expect(await cl.inRecovery('node1')).toBe(true);
    expect(await cl.timeline('node1')).toBe(2);
    const conf = readFileSync(path.join(cl.nodes[0]!.dataDir, 'postgresql.conf'), 'utf8');
    expect(conf).toMatch(new RegExp(`^port = ${cl.nodes[0]!.port}$`, 'm'));
    await cl.waitForHookCall((x) => x.node === 'node1' && x.event === 'node_rejoin' && x.success === true, 10_000);

    const t0 = Date.now();
    await cl.switchover('node1');
    expect(await cl.primary()).toBe('node1');
    expect(await cl.states()).toEqual({ node1: false, node2: true, node3: true });
    expect(await cl.timeline('node1')).toBe(3);
    const sw = await cl.waitForHookCall((x) => x.node === 'node1' && x.event === 'standby_switchover' && x.t >= t0, 10_000);
    expect(sw.args[7]).toBe(before!.slice(-1)); // %p = the demoted primary
    expect(readFileSync(path.join(cl.baseDir, 'ssh-shim.log'), 'utf8')).toMatch(/host=127\.0\.0\.1 cmd=.*repmgr/);
  }, 150_000);

  it('split brain: the killed old primary started without rejoin is a second primary until rejoined', async () => {
    const cl = cluster();
    await cl.killPostmaster('node1');
    const p = await cl.waitForPrimary('node1', 30_000);
    await cl.startWithoutRejoin('node1');
    expect(await cl.inRecovery('node1')).toBe(false);
    await expect(cl.primary()).rejects.toThrow(/more than one primary/);
    expect(await cl.timeline('node1')).toBe(3); // still on the old timeline
    expect(await cl.timeline(p)).toBe(4);

    await cl.rejoin('node1');
    expect(await cl.primary()).toBe(p);
    expect(await cl.inRecovery('node1')).toBe(true);
  }, 150_000);

  it('destroy stops every process of the cluster and removes its base dir (idempotent)', async () => {
    const cl = cluster();
    const base = cl.baseDir;
    const procs = cl.processes();
    // 3 postmasters (+ their backends) and 3 repmgrd at least
    expect(procs.filter((p) => /^\/usr\/lib\/postgresql\/15\/bin\/repmgrd -f/.test(p.cmdline))).toHaveLength(3);
    expect(procs.filter((p) => /^\/usr\/lib\/postgresql\/15\/bin\/postgres -D/.test(p.cmdline))).toHaveLength(3);
    const calledBefore = (await cl.hookCalls()).length;
    expect(calledBefore).toBeGreaterThan(20);

    await cl.destroy();
    expect(processesOf(base)).toEqual([]);
    for (const p of procs) expect(pidAlive(p.pid)).toBe(false);
    for (const n of cl.nodes) expect(await portOpen(n.port)).toBe(false);
    expect(existsSync(base)).toBe(false);
    await cl.destroy(); // second call is a no-op
    expect(cl.destroyed).toBe(true);
  }, 60_000);
});

/** A hook outside postgres' reach is copied, extra files are provided, and odd argv survives repmgr.conf + sh -c. */
describe('RepmgrCluster hook wiring (1 node, custom sh hook)', () => {
  let c: RepmgrCluster | undefined;
  const privateDir = mkdtempSync(path.join(os.tmpdir(), 'drill-private-hook-'));
  const ODD = `a b 'c' "d" %n $HOME \\x`;

  afterAll(async () => {
    await c?.destroy();
    rmSync(privateDir, { recursive: true, force: true });
  }, 60_000);

  it('copies an unreadable hook into <base>/bin, writes hook.files, and passes every argv element verbatim', async () => {
    const script = path.join(privateDir, 'hook.sh');
    // argv: $1 = ODD, $2 = --config, $3 = hook.json, $4 = repmgr, $5 = %n, $6 = %e, ...
    writeFileSync(
      script,
      '#!/bin/sh\nd=$(dirname "$3")\nkey=$(cat "$(dirname "$d")/secret/key")\nprintf \'%s|%s|%s|%s|%s\\n\' "$4" "$5" "$6" "$key" "$1" >> "$d/custom-hook.log"\n',
    );
    chmodSync(script, 0o755);
    chmodSync(privateDir, 0o700); // postgres cannot traverse it
    c = await RepmgrCluster.create({
      nodes: 1,
      log,
      hook: {
        command: ['/bin/sh', script, ODD],
        files: { 'secret/key': 'k3y' },
        configFor: (n) => ({ node: n.name, keyFile: path.join(n.baseDir, 'secret', 'key') }),
      },
    });
    const n1 = c.nodes[0]!;
    expect(readFileSync(path.join(n1.dir, 'repmgr.conf'), 'utf8')).toContain(path.join(c.baseDir, 'bin', '1-hook.sh'));
    expect(JSON.parse(readFileSync(path.join(n1.dir, 'hook.json'), 'utf8')).keyFile).toBe(path.join(c.baseDir, 'secret', 'key'));
    const lines = readFileSync(path.join(n1.dir, 'custom-hook.log'), 'utf8').trim().split('\n');
    expect(lines).toContain(`repmgr|1|primary_register|k3y|${ODD}`);
    expect(lines).toContain(`repmgr|1|repmgrd_start|k3y|${ODD}`);
  }, 60_000);
});
