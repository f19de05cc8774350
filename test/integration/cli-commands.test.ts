/**
 * The operator CLI as a user runs it (the BUILT bundle through bin/vipswitch.mjs, no tsx) against the local stack:
 * --help and exit codes, apply, status (fleet and one cluster), events --since, reconcile --dry-run and a repair, key
 * rotation with the real hook never refused in between, and vipswitch-hook ping.
 */
import { execFile } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EC2Client, ReplaceRouteCommand } from '@aws-sdk/client-ec2';
import type { LocalStack } from '../../local/stack';
import { freePort } from '../../local/ports';
import { HOOK, primaryFacts, registerCluster, repmgrArgs, ROOT, routesOn, routeTargets, runHook, settled, startTestStack, status, type TestCluster, type TestNode } from '../support/local';

const run = promisify(execFile);
const CLI = join(ROOT, 'bin/vipswitch.mjs');
type Result = { code: number; stdout: string; stderr: string };

async function exec(file: string, args: string[], env: Record<string, string | undefined>): Promise<Result> {
  try {
    const { stdout, stderr } = await run(file, args, { env: env as NodeJS.ProcessEnv, timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw error;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('vipswitch CLI (built, local stack)', () => {
  let stack: LocalStack;
  let cluster: TestCluster;
  // The fleet view reads this stack's API (never the default port 3000: another stack may be running there).
  const cli = (args: string[], env: Record<string, string> = {}) => exec(process.execPath, [CLI, ...args], { ...process.env, ...stack.env, VIPSWITCH_STAGE: 'local', VIPSWITCH_API_URL: stack.apiUrl, ...env });
  const hook = (args: string[], configPath: string) => exec(process.execPath, [HOOK, '--config', configPath, ...args], { ...process.env });

  beforeAll(async () => {
    await run(process.execPath, [join(ROOT, 'scripts/build-cli.mjs')]);
    stack = await startTestStack();
    cluster = await registerCluster(stack);
    const { node1, node2, node3 } = cluster.nodes;
    await runHook(node1!, repmgrArgs(node1!, 'repmgrd_start'), primaryFacts(1));
    await runHook(node2!, repmgrArgs(node2!, 'repmgrd_start'), { ...primaryFacts(1), inRecovery: true });
    await runHook(node3!, repmgrArgs(node3!, 'repmgrd_start'), { ...primaryFacts(1), inRecovery: true });
    await settled(stack, cluster);
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
    await stack?.stop();
  });

  describe('usage, help and exit codes', () => {
    it.each(['apply', 'status', 'events', 'confirm', 'reconcile', 'doctor', 'keys', 'keys issue', 'keys rotate'])('"%s --help" exits 0 with the usage and the exit codes', async (command) => {
      const result = await cli([...command.split(' '), '--help']);

      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`Usage: vipswitch ${command}`));
      expect(result.stdout).toMatch(/3 +not reachable/);
    });

    it('a missing required option, an unknown command or a bad --since is a usage error (exit 2) that says what is wrong', async () => {
      const noFile = await cli(['apply']);
      const unknown = await cli(['frobnicate']);
      const since = await cli(['events', cluster.name, '--since', 'yesterday']);

      expect(noFile).toMatchObject({ code: 2, stderr: expect.stringMatching(/required option '-f, --file <path>' not specified/) });
      expect(unknown).toMatchObject({ code: 2, stderr: expect.stringMatching(/unknown command 'frobnicate'/) });
      expect(since).toMatchObject({ code: 2, stderr: expect.stringMatching(/--since takes an ISO 8601 time .* or a duration/) });
    });

    it('DynamoDB not reachable is exit 3, naming the endpoint; --json says it as a document', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;

      const text = await cli(['status', cluster.name], { AWS_ENDPOINT_URL_DYNAMODB: closed, AWS_MAX_ATTEMPTS: '1' });
      const json = await cli(['status', cluster.name, '--json'], { AWS_ENDPOINT_URL_DYNAMODB: closed, AWS_MAX_ATTEMPTS: '1' });

      expect(text).toMatchObject({ code: 3, stderr: expect.stringContaining(`cannot reach ${closed}`) });
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, error: { code: 'not_reachable' } });
      expect(text.stderr).not.toMatch(/NodeVersionSupportWarning/);
    });

    it('the status API not reachable is exit 3 for the fleet view, naming the URL and what to do', async () => {
      const closed = `http://127.0.0.1:${await freePort()}`;

      const text = await cli(['status'], { VIPSWITCH_API_URL: closed });
      const option = await cli(['status', '--api', `${closed}/`, '--json']);

      expect(text).toMatchObject({ code: 3, stderr: expect.stringContaining(`cannot reach the status API at ${closed} (from VIPSWITCH_API_URL)`) });
      expect(text.stderr).toMatch(/npm start.*--api <url> or VIPSWITCH_API_URL/);
      expect(option.code).toBe(3);
      expect(JSON.parse(option.stdout)).toMatchObject({ ok: false, error: { code: 'api_not_reachable', message: expect.stringContaining(`${closed} (from --api)`) } });
    });
  });

  it('apply -f registers again (updated, fencing record kept); a bad file is exit 1 listing its problems', async () => {
    const file = join(cluster.dir, 'cluster.yaml');
    const bad = join(cluster.dir, 'bad.yaml');
    await writeFile(bad, (await readFile(file, 'utf8')).replace(/tool: repmgr/, 'tool: pacemaker'));

    const ok = await cli(['apply', '-f', file]);
    const refused = await cli(['apply', '-f', bad]);

    expect(ok).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`updated cluster ${cluster.name} with nodes node1, node2, node3`)) });
    expect(refused).toMatchObject({ code: 1, stderr: expect.stringMatching(/tool/) });
    expect((await status(stack, cluster)).state).toMatchObject({ primary: 'node1', epoch: 1 });
  });

  it('status without a cluster prints the fleet from GET /v1/clusters, every page of it (more clusters than a page)', async () => {
    // The CLI asks for pages of 100 (the API's largest): 105 more clusters make it follow `next` twice.
    const more: TestCluster[] = [];
    for (let i = 0; i < 105; i++) more.push(await registerCluster(stack));
    try {
      // DynamoDB unreachable for the CLI: the fleet can only have come through the API.
      const noTable = { AWS_ENDPOINT_URL_DYNAMODB: `http://127.0.0.1:${await freePort()}`, AWS_MAX_ATTEMPTS: '1' };
      const text = await cli(['status'], noTable);
      const json = JSON.parse((await cli(['status', '--json'], noTable)).stdout);

      const names = [cluster.name, ...more.map((c) => c.name)].sort();
      expect(text.code).toBe(0);
      expect(json).toMatchObject({ ok: true, source: 'api', api: stack.apiUrl });
      expect(json.clusters.map((c: { cluster: string }) => c.cluster)).toEqual(names);
      expect(json.clusters.find((c: { cluster: string }) => c.cluster === cluster.name)).toMatchObject({ tool: 'repmgr', primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, converged: true, endpoint: { phase: 'converged' }, lastFailover: expect.any(String), pages: { last24h: 0 } });
      expect(text.stdout).toMatch(/Cluster +\| Tool +\| Primary \| Timeline \| Epoch \| Applied \| Endpoint +\| Last failover \| Pages 24h/);
      expect(text.stdout).toMatch(new RegExp(`${cluster.name} \\| repmgr \\| node1 +\\| 1 +\\| 1 +\\| 1 +\\| converged +\\| \\d+ (s|min) ago +\\| 0`));
      for (const name of names) expect(text.stdout).toContain(`${name} |`);
      expect(text.stdout).toContain(`106 cluster(s), from ${stack.apiUrl}/v1/clusters`);
    } finally {
      for (const c of more) await c.cleanup();
    }
  }, 120_000);

  it('status <cluster> shows nodes, roles, health, last seen, and each target desired vs observed (no key anywhere)', async () => {
    const text = await cli(['status', cluster.name]);
    const json = await cli(['status', cluster.name, '--json']);
    const view = JSON.parse(json.stdout);

    expect(text.stdout).toMatch(/node1 \| primary \| primary \| \d+ s ago/);
    expect(text.stdout).toMatch(/node2 \| standby \| replica/);
    expect(text.stdout).toMatch(/endpoint: converged for epoch 1/);
    expect(text.stdout).toMatch(new RegExp(`route_table \\| ${cluster.routeTableIds[0]} ${cluster.vip.replace(/\./g, '\\.')}/32 \\| ${cluster.nodes.node1!.eni} \\| ${cluster.nodes.node1!.eni} \\| converged`));
    expect(view.nodes.map((n: { name: string; role: string; health: string; lastSeen: string | null }) => [n.name, n.role, n.health, n.lastSeen !== null])).toEqual([
      ['node1', 'primary', 'primary', true],
      ['node2', 'standby', 'replica', true],
      ['node3', 'standby', 'replica', true],
    ]);
    expect(view.endpoint.targets[0]).toMatchObject({ desired: cluster.nodes.node1!.eni, observed: cluster.nodes.node1!.eni, state: 'converged' });
    for (const n of Object.values(cluster.nodes)) expect(text.stdout + json.stdout).not.toContain(n.key);
    expect(json.stdout).not.toMatch(/hookKey/);
  });

  it('events --since lists the journal oldest first; an unknown cluster is exit 1', async () => {
    const recent = await cli(['events', cluster.name, '--since', '10m']);
    const future = await cli(['events', cluster.name, '--since', new Date(Date.now() + 3_600_000).toISOString(), '--json']);
    const unknown = await cli(['events', 'no-such-cluster']);

    expect(recent.code).toBe(0);
    const lines = recent.stdout.split('\n').filter((l) => l.includes('repmgrd_start'));
    expect(lines.map((l) => l.split('|')[1]!.trim()).slice(0, 3)).toEqual(['node1', 'node2', 'node3']);
    expect(lines[0]).toMatch(/accepted/);
    expect(JSON.parse(future.stdout)).toMatchObject({ ok: true, events: [] });
    expect(unknown).toMatchObject({ code: 1, stderr: expect.stringMatching(/no-such-cluster is not registered/) });
  });

  it('reconcile --dry-run finds drift without touching it (exit 1); reconcile repairs it (exit 0)', async () => {
    const { node1, node3 } = cluster.nodes;
    const ec2 = new EC2Client({ endpoint: stack.aws.url, region: 'us-east-1', credentials: { accessKeyId: 'AKIALOCAL', secretAccessKey: 'local' } });
    try {
      const inSync = await cli(['reconcile', cluster.name, '--dry-run']);
      await ec2.send(new ReplaceRouteCommand({ RouteTableId: cluster.routeTableIds[0], DestinationCidrBlock: `${cluster.vip}/32`, NetworkInterfaceId: node3!.eni }));

      const plan = await cli(['reconcile', cluster.name, '--dry-run', '--json']);
      const afterPlan = routeTargets(stack, cluster);
      const repair = await cli(['reconcile', cluster.name]);

      expect(inSync).toMatchObject({ code: 0, stdout: expect.stringMatching(/in sync: nothing to change/) });
      expect(plan.code).toBe(1);
      expect(JSON.parse(plan.stdout).clusters[0]).toMatchObject({ outcome: 'drift', actions: expect.arrayContaining([expect.objectContaining({ result: 'planned', from: node3!.eni, to: node1!.eni })]) });
      expect(afterPlan).toEqual([node3!.eni, node1!.eni]);
      expect(repair).toMatchObject({ code: 0, stdout: expect.stringMatching(/repaired: drift found and moved back/) });
      await routesOn(stack, cluster, node1!.eni);
    } finally {
      ec2.destroy();
    }
  });

  describe('keys and ping', () => {
    const withKeyFile = async (node: TestNode, keyFile: string, name: string) => {
      const path = join(cluster.dir, name);
      await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(node.configPath, 'utf8')), keyFile }));
      return { ...node, configPath: path };
    };

    it('ping proves the key, answers pong with the skew and round trip, and records nothing', async () => {
      const node2 = cluster.nodes.node2!;
      const before = await fetch(`${stack.apiUrl}/v1/clusters/${cluster.name}?journal=200`).then((r) => r.json() as Promise<{ journal: unknown[] }>);

      const text = await hook(['ping'], node2.configPath);
      const json = await hook(['ping', '--json'], node2.configPath);
      const after = await fetch(`${stack.apiUrl}/v1/clusters/${cluster.name}?journal=200`).then((r) => r.json() as Promise<{ journal: unknown[] }>);

      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(new RegExp(`pong from ${stack.eventsUrl}: ${cluster.name}/node2, signed with the current key`));
      expect(text.stdout).toMatch(/round trip [\d.]+ ms; this clock is [\d.]+ s (behind|ahead of) the server/);
      expect(JSON.parse(json.stdout)).toMatchObject({ ok: true, status: 200, answer: { code: 'pong', key: 'current', rotating: false } });
      expect(after.journal).toHaveLength(before.journal.length);
      expect(text.stdout + text.stderr).not.toContain(node2.key);
    });

    it('rotation: the old key keeps working until --finish, the new one from the start; no event is refused in between', async () => {
      const node3 = cluster.nodes.node3!;
      const keyFile = join(cluster.dir, 'node3-next.key');

      const started = await cli(['keys', 'rotate', cluster.name, 'node3', '--key-file', keyFile, '--endpoint', stack.eventsUrl]);
      const newKey = (await readFile(keyFile, 'utf8')).trim();
      const withNew = await withKeyFile(node3, keyFile, 'hook-node3-next.json');
      const during = [
        await hook(['ping'], node3.configPath),
        await hook(['ping'], withNew.configPath),
        await runHook(node3, repmgrArgs(node3, 'repmgrd_start'), { ...primaryFacts(1), inRecovery: true }),
        await runHook(withNew, repmgrArgs(node3, 'repmgrd_start'), { ...primaryFacts(1), inRecovery: true }),
      ];
      const statusDuring = JSON.parse((await cli(['status', cluster.name, '--json'])).stdout);
      const finished = await cli(['keys', 'rotate', '--finish', cluster.name, 'node3']);
      const oldAfter = await hook(['ping'], node3.configPath);
      const newAfter = await runHook(withNew, repmgrArgs(node3, 'repmgrd_start'), { ...primaryFacts(1), inRecovery: true });
      const again = await cli(['keys', 'rotate', '--finish', cluster.name, 'node3']);

      expect(started.code).toBe(0);
      expect(started.stdout).toMatch(/key rotation of .*\/node3 started: the current AND the new key are accepted/);
      expect(started.stdout).toMatch(/"keyFile": "\/etc\/vipswitch\/hook.key"/);
      expect(started.stdout).not.toContain(newKey);
      expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
      expect(during[0]!.stdout).toMatch(/signed with the current key \(key rotation under way\)/);
      expect(during[1]!.stdout).toMatch(/signed with the next key \(key rotation under way\)/);
      // The hook's own log line says how each event went: delivered, never a 401.
      for (const r of [during[2]!, during[3]!, newAfter]) expect(r.stderr).toMatch(/outcome=delivered status=200/);
      expect(statusDuring.nodes.find((n: { name: string }) => n.name === 'node3').keyRotation).toMatchObject({ since: expect.any(String) });
      expect(finished).toMatchObject({ code: 0, stdout: expect.stringMatching(/finished: only the new key is accepted/) });
      expect(oldAfter).toMatchObject({ code: 1, stderr: expect.stringMatching(/HTTP 401 bad_signature/) });
      expect(again).toMatchObject({ code: 1, stderr: expect.stringMatching(/no key rotation .* is under way/) });
    });

    it('issue replaces the key at once; an existing key file is never overwritten without --force; an unknown node is exit 1', async () => {
      const node2 = cluster.nodes.node2!;
      const keyFile = join(cluster.dir, 'node2-issued.key');

      const issued = await cli(['keys', 'issue', cluster.name, 'node2', '--key-file', keyFile, '--json']);
      const exists = await cli(['keys', 'issue', cluster.name, 'node2', '--key-file', keyFile]);
      const unknown = await cli(['keys', 'rotate', cluster.name, 'node9', '--key-file', join(cluster.dir, 'node9.key')]);
      const oldKey = await hook(['ping'], node2.configPath);
      const newKey = await hook(['ping'], (await withKeyFile(node2, keyFile, 'hook-node2-issued.json')).configPath);

      expect(JSON.parse(issued.stdout)).toMatchObject({ ok: true, state: 'issued', keyFile, hookConfig: { cluster: cluster.name, node: 'node2' } });
      expect(issued.stdout).not.toContain((await readFile(keyFile, 'utf8')).trim());
      expect(exists).toMatchObject({ code: 2, stderr: expect.stringMatching(/exists: name another file with --key-file, or overwrite it with --force/) });
      expect(unknown).toMatchObject({ code: 1, stderr: expect.stringMatching(/node9 is not registered/) });
      expect(oldKey.code).toBe(1);
      expect(newKey.code).toBe(0);
    });

    it('ping to an endpoint that does not answer is exit 3', async () => {
      const node1 = cluster.nodes.node1!;
      const path = join(cluster.dir, 'hook-node1-closed.json');
      await writeFile(path, JSON.stringify({ ...JSON.parse(await readFile(node1.configPath, 'utf8')), endpoint: `http://127.0.0.1:${await freePort()}/v1/events` }));

      const result = await hook(['ping'], path);

      expect(result).toMatchObject({ code: 3, stderr: expect.stringMatching(/not reachable from .*\/node1: network error ECONNREFUSED/) });
    });
  });
});
