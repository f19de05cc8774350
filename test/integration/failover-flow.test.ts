import { execFile } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { readdir } from 'node:fs/promises';
import { applyClusterFile } from '../../local/apply';
import { type LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import { signedHeaders } from '../../shared/protocol/signature';
import { ROOT, makeEvent, post, primaryFacts, registerCluster, repmgrArgs, routeTargets, routesOn, runHook, settled, startTestStack, status, type TestCluster } from '../support/local';

/** Calls of one EC2 action the local endpoint received, so "nothing moved" is checked on the wire, not inferred. */
function ec2Calls(stack: LocalStack, action: string): number {
  return stack.aws.calls().filter((c) => c.service === 'ec2' && c.action === action).length;
}

function pages(stack: LocalStack, cluster: TestCluster, type: string) {
  return stack.aws.state().topics.flatMap((t) => t.published).filter((m) => m.message.includes(cluster.name) && m.message.includes(`"type":"${type}"`));
}

describe('hook → API → DynamoDB Local → local EC2 endpoint', () => {
  let stack: LocalStack;
  let cluster: TestCluster;

  beforeAll(async () => {
    stack = await startTestStack();
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  beforeEach(async () => {
    cluster = await registerCluster(stack);
    // node1 is the running primary on timeline 1.
    await runHook(cluster.nodes.node1!, repmgrArgs(cluster.nodes.node1!, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)'), primaryFacts(1));
    await routesOn(stack, cluster, cluster.nodes.node1!.eni);
    await settled(stack, cluster);
  });

  afterEach(async () => {
    stack.aws.setFaults([]);
    await cluster.cleanup();
  });

  it('a promotion moves the route in every table, and status shows the new primary', async () => {
    const { node2 } = cluster.nodes;

    await runHook(node2!, repmgrArgs(node2!, 'standby_promote', 'server "node2" (ID: 2) was successfully promoted to primary'), primaryFacts(2));

    // The answer came before the move: the actuator (stream-triggered) moves the routes right after.
    await routesOn(stack, cluster, node2!.eni);
    const s = await settled(stack, cluster);
    expect(s.state).toMatchObject({ primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 2 });
    expect(s.endpoint).toMatchObject({ epoch: 2, phase: 'converged' });
    expect(s.endpoint.targets.filter((t: { mechanism: string }) => t.mechanism === 'route_table')).toEqual([
      expect.objectContaining({ desired: node2!.eni, observed: node2!.eni, state: 'converged', result: 'moved' }),
      expect.objectContaining({ desired: node2!.eni, observed: node2!.eni, state: 'converged', result: 'moved' }),
    ]);
    expect(s.journal[0]).toMatchObject({ node: 'node2', type: 'standby_promote', outcome: 'accepted' });
  });

  it('the same event again is answered duplicate, with the first answer, and changes nothing', async () => {
    const event = makeEvent(cluster, cluster.nodes.node2!, 'standby_promote', primaryFacts(2));
    const body = JSON.stringify(event);

    const first = await post(stack, cluster, cluster.nodes.node2!, body);
    await settled(stack, cluster);
    const replaces = ec2Calls(stack, 'ReplaceRoute');
    // Signed again (a retry signs anew; the same signature would be a replay): one second later.
    const resigned = signedHeaders(cluster.name, 'node2', cluster.nodes.node2!.key, body, Date.now() / 1000 + 1);
    const second = await post(stack, cluster, cluster.nodes.node2!, body, resigned);

    expect(first).toMatchObject({ status: 202, body: { code: 'accepted', epoch: 2 } });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ code: 'duplicate', decision: 'duplicate', first: { status: 202, body: { code: 'accepted', epoch: 2 } } });
    const s = await settled(stack, cluster);
    expect(ec2Calls(stack, 'ReplaceRoute')).toBe(replaces);
    expect(s.state.epoch).toBe(2);
    expect(s.journal.filter((j: { eventId: string }) => j.eventId === event.id)).toHaveLength(1);
  });

  it('the same event sent concurrently (a hook retry racing its first send) is journaled exactly once', async () => {
    const { node2 } = cluster.nodes;
    const event = makeEvent(cluster, node2!, 'standby_promote', primaryFacts(2));
    const body = JSON.stringify(event);
    const now = Date.now() / 1000;

    // Four sends of one event, each signed anew (as the hook's retries are), all in flight together.
    const answers = await Promise.all([0, 1, 2, 3].map((i) => post(stack, cluster, node2!, body, signedHeaders(cluster.name, 'node2', node2!.key, body, now + i))));

    const codes = answers.map((a) => a.body.code).sort();
    expect(codes).toEqual(['accepted', 'duplicate', 'duplicate', 'duplicate']);
    for (const a of answers.filter((x) => x.body.code === 'duplicate')) expect(a.body.first).toMatchObject({ status: 202, body: { code: 'accepted', epoch: 2 } });
    const s = await settled(stack, cluster);
    expect(s.state).toMatchObject({ primary: 'node2', epoch: 2, appliedEpoch: 2 });
    expect(s.journal.filter((j: { eventId: string }) => j.eventId === event.id)).toHaveLength(1);
  });

  it('the same event id with another body is 409 event_id_reused and changes nothing', async () => {
    const { node2 } = cluster.nodes;
    const event = makeEvent(cluster, node2!, 'repmgrd_start', { inRecovery: true, timeline: 1, lsn: null, systemIdentifier: null });
    await post(stack, cluster, node2!, JSON.stringify(event));
    const before = await status(stack, cluster);

    const reused = await post(stack, cluster, node2!, JSON.stringify({ ...event, details: 'edited' }));

    expect(reused).toMatchObject({ status: 409, body: { code: 'event_id_reused', message: expect.any(String) } });
    const after = await status(stack, cluster);
    expect(after.state).toEqual(before.state);
    expect(after.journal).toEqual(before.journal);
  });

  it('an older-timeline claim from another node is 409 stale_claim: nothing moves, it is journaled and paged', async () => {
    const { node2, node3 } = cluster.nodes;
    await runHook(node2!, repmgrArgs(node2!, 'standby_promote'), primaryFacts(3));
    await settled(stack, cluster);
    const replaces = ec2Calls(stack, 'ReplaceRoute');

    const answer = await post(stack, cluster, node3!, JSON.stringify(makeEvent(cluster, node3!, 'repmgrd_start', primaryFacts(2))));

    expect(answer.status).toBe(409);
    expect(answer.body).toMatchObject({ code: 'stale_claim', primary: 'node2', timeline: 3 });
    expect(typeof answer.body.message).toBe('string');
    expect(routeTargets(stack, cluster)).toEqual([node2!.eni, node2!.eni]);
    expect(ec2Calls(stack, 'ReplaceRoute')).toBe(replaces);
    const s = await status(stack, cluster);
    expect(s.state).toMatchObject({ primary: 'node2', timeline: 3 });
    expect(s.journal[0]).toMatchObject({ node: 'node3', outcome: 'stale_claim' });
    await waitFor('the stale_claim page', 5000, () => pages(stack, cluster, 'stale_claim').length === 1);
    await stack.trigger.idle();
    expect(ec2Calls(stack, 'ReplaceRoute')).toBe(replaces);
  });

  it('re-applying the cluster config on a live cluster keeps the fencing record and every node\'s health', async () => {
    const { node2, node3 } = cluster.nodes;
    const standby = { inRecovery: true, timeline: 1, lsn: '0/3000060', systemIdentifier: null };
    await runHook(node2!, repmgrArgs(node2!, 'repmgrd_start'), standby);
    await runHook(node3!, repmgrArgs(node3!, 'repmgrd_start'), standby);
    const before = await settled(stack, cluster);
    const health = (s: Record<string, any>) => Object.fromEntries(s.nodes.map((n: { name: string; health: string }) => [n.name, n.health]));
    expect(health(before)).toEqual({ node1: 'primary', node2: 'replica', node3: 'replica' });

    await applyClusterFile(stack.store, join(cluster.dir, 'cluster.yaml'));

    const after = await settled(stack, cluster);
    expect(health(after)).toEqual({ node1: 'primary', node2: 'replica', node3: 'replica' });
    expect(after.state).toMatchObject({ primary: 'node1', epoch: before.state.epoch, timeline: 1 });
  });

  it('a claim without facts is 409 unverified_claim and nothing moves', async () => {
    const answer = await post(stack, cluster, cluster.nodes.node2!, JSON.stringify(makeEvent(cluster, cluster.nodes.node2!, 'standby_promote', null)));

    expect(answer).toMatchObject({ status: 409, body: { code: 'unverified_claim' } });
    expect(routeTargets(stack, cluster)).toEqual([cluster.nodes.node1!.eni, cluster.nodes.node1!.eni]);
  });

  it('an operator confirms an unverified claim with `vipswitch confirm`: same fencing rule, journaled, endpoint moved', async () => {
    const { node2 } = cluster.nodes;
    const unverified = await post(stack, cluster, node2!, JSON.stringify(makeEvent(cluster, node2!, 'standby_promote', null)));
    expect(unverified.body.code).toBe('unverified_claim');
    const cli = (args: string[]) =>
      promisify(execFile)(process.execPath, [join(ROOT, 'bin/vipswitch.mjs'), ...args], { env: { ...process.env, ...stack.env } }).then(
        (r) => ({ code: 0, out: r.stdout + r.stderr }),
        (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
      );

    const older = await cli(['confirm', cluster.name, 'node2', '--timeline', '1', '--reason', 'probe failed, checked by hand']);
    const confirmed = await cli(['confirm', cluster.name, 'node2', '--timeline', '2', '--reason', 'probe failed, checked by hand']);

    expect(older.code).toBe(1);
    expect(older.out).toMatch(/refused: node2 claims primary on timeline 1/);
    expect(confirmed).toMatchObject({ code: 0 });
    expect(confirmed.out).toMatch(/confirmed node2 as primary .* moved and verified/);
    expect(routeTargets(stack, cluster)).toEqual([node2!.eni, node2!.eni]);
    const s = await status(stack, cluster);
    expect(s.state).toMatchObject({ primary: 'node2', timeline: 2 });
    expect(s.journal[0]).toMatchObject({ node: 'node2', type: 'confirm_primary', outcome: 'operator_confirmed' });
  });

  it("another cluster's system identifier is 409 system_identifier_mismatch and nothing moves", async () => {
    const answer = await post(stack, cluster, cluster.nodes.node2!, JSON.stringify(makeEvent(cluster, cluster.nodes.node2!, 'standby_promote', primaryFacts(9, '7000000000000000001'))));

    expect(answer).toMatchObject({ status: 409, body: { code: 'system_identifier_mismatch' } });
    expect(routeTargets(stack, cluster)).toEqual([cluster.nodes.node1!.eni, cluster.nodes.node1!.eni]);
  });

  describe('bad input gets a clear error and changes nothing', () => {
    type Make = (c: TestCluster) => { body: string; headers?: Record<string, string>; key?: string };
    const cases: [string, number, string, Make][] = ([
      ['bad signature', (c) => ({ body: JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))), key: 'f'.repeat(64) }), 401, 'bad_signature'],
      ['missing signature', (c) => ({ body: JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))), headers: { 'x-vipswitch-signature': '' } }), 401, 'missing_signature'],
      ['skewed timestamp', (c) => ({ body: JSON.stringify(makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2))), headers: { 'x-vipswitch-timestamp': '1000' } }), 401, 'timestamp_out_of_window'],
      ['not JSON', () => ({ body: '{"v":1,' }), 400, 'invalid_json'],
      ['schema violation', (c) => ({ body: JSON.stringify({ ...makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2)), facts: { inRecovery: 'no' } }) }), 400, 'invalid_event'],
      ['body names another node', (c) => ({ body: JSON.stringify({ ...makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2)), node: 'node3' }) }), 400, 'node_mismatch'],
      ['repmgr %n of another node', (c) => ({ body: JSON.stringify({ ...makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2)), raw: { argv: repmgrArgs(c.nodes.node3!, 'standby_promote') } }) }), 404, 'node_id_mismatch'],
      ['unknown node', (c) => ({ body: '{}', headers: { 'x-vipswitch-node': `${c.name}/node9` } }), 404, 'unknown_node'],
      ['unknown cluster', () => ({ body: '{}', headers: { 'x-vipswitch-node': 'nope/node1' } }), 404, 'unknown_cluster'],
      ['body too large', (c) => ({ body: JSON.stringify({ ...makeEvent(c, c.nodes.node2!, 'standby_promote', primaryFacts(2)), details: 'x'.repeat(70_000) }) }), 413, 'payload_too_large'],
    ] as [string, Make, number, string][]).map(([n, m, st, c]) => [n, st, c, m]);

    it.each(cases)('%s → %i %s', async (_name, expectedStatus, expectedCode, make) => {
      const before = await status(stack, cluster);
      const replaces = ec2Calls(stack, 'ReplaceRoute');
      const { body, headers = {}, key } = make(cluster);

      const answer = await post(stack, cluster, cluster.nodes.node2!, body, headers, key);

      expect(answer.status).toBe(expectedStatus);
      expect(answer.body.code).toBe(expectedCode);
      expect(answer.body.message).toEqual(expect.any(String));
      const after = await status(stack, cluster);
      expect(after.state).toEqual(before.state);
      expect(after.journal).toEqual(before.journal);
      expect(ec2Calls(stack, 'ReplaceRoute')).toBe(replaces);
      expect(routeTargets(stack, cluster)).toEqual([cluster.nodes.node1!.eni, cluster.nodes.node1!.eni]);
    });

    it('a replayed signed request is 401 replayed_request', async () => {
      const body = JSON.stringify(makeEvent(cluster, cluster.nodes.node2!, 'repmgrd_start', { inRecovery: true, timeline: 1, lsn: null, systemIdentifier: null }));
      const headers = (await import('../../shared/protocol/signature')).signedHeaders(cluster.name, 'node2', cluster.nodes.node2!.key, body, Date.now() / 1000);

      const first = await post(stack, cluster, cluster.nodes.node2!, body, headers);
      const replay = await post(stack, cluster, cluster.nodes.node2!, body, headers);

      expect(first.status).toBe(200);
      expect(replay).toMatchObject({ status: 401, body: { code: 'replayed_request' } });
    });
  });

  it('two conflicting claims sent concurrently end with the route on the newer timeline (5 rounds)', async () => {
    const { node2, node3 } = cluster.nodes;
    // Widen the race window: every EC2 call takes a while, so both claims are in flight together.
    stack.aws.setFaults([{ service: 'ec2', latencyMs: 40 }]);
    let timeline = 1;
    for (let round = 0; round < 5; round++) {
      // Alternate which node holds the newer timeline, so neither order of arrival is favoured.
      const [older, newer] = round % 2 === 0 ? [node2!, node3!] : [node3!, node2!];
      const t = timeline + 1;
      timeline += 2;

      const [a, b] = await Promise.all([
        post(stack, cluster, older, JSON.stringify(makeEvent(cluster, older, 'standby_promote', primaryFacts(t)))),
        post(stack, cluster, newer, JSON.stringify(makeEvent(cluster, newer, 'standby_promote', primaryFacts(t + 1)))),
      ]);

      expect(['accepted', 'stale_claim']).toContain(a.body.code);
      expect(b.body.code).toBe('accepted');
      const s = await settled(stack, cluster);
      expect(routeTargets(stack, cluster)).toEqual([newer.eni, newer.eni]);
      expect(s.state).toMatchObject({ primary: newer.name, timeline: t + 1 });
      expect(s.state.appliedEpoch).toBe(s.state.epoch);
    }
  });

  it('two nodes claiming the same timeline concurrently: exactly one wins, the other is a stale claim', async () => {
    const { node2, node3 } = cluster.nodes;
    stack.aws.setFaults([{ service: 'ec2', latencyMs: 40 }]);

    const answers = await Promise.all([
      post(stack, cluster, node2!, JSON.stringify(makeEvent(cluster, node2!, 'standby_promote', primaryFacts(2)))),
      post(stack, cluster, node3!, JSON.stringify(makeEvent(cluster, node3!, 'standby_promote', primaryFacts(2)))),
    ]);

    const codes = answers.map((a) => a.body.code).sort();
    expect(codes).toEqual(['accepted', 'stale_claim']);
    const winner = answers[0]!.body.code === 'accepted' ? node2! : node3!;
    expect((await settled(stack, cluster)).state).toMatchObject({ primary: winner.name, timeline: 2 });
    expect(routeTargets(stack, cluster)).toEqual([winner.eni, winner.eni]);
  });

  it('with the API down the event is spooled, and the next call delivers both in order', async () => {
    // A loopback TCP proxy in front of the API that we can take down and bring back.
    const { node2 } = cluster.nodes;
    const target = new URL(stack.apiUrl);
    const sockets = new Set<Socket>();
    const makeProxy = () =>
      createServer((client) => {
        sockets.add(client);
        const upstream = require('node:net').connect(Number(target.port), '127.0.0.1');
        client.pipe(upstream).pipe(client);
        const close = () => (client.destroy(), upstream.destroy(), sockets.delete(client));
        client.on('error', close);
        upstream.on('error', close);
      });
    const port = await new Promise<number>((resolve) => {
      const probe: Server = createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as { port: number }).port;
        probe.close(() => resolve(p));
      });
    });
    const proxied = await registerCluster(stack, { eventsUrl: `http://127.0.0.1:${port}/v1/events` });
    const n1 = proxied.nodes.node1!;
    const n2 = proxied.nodes.node2!;
    let proxy: Server | undefined;
    try {
      // API down: node1's claim and node2's promotion are both spooled (nothing listens on the port).
      await runHook(n1, repmgrArgs(n1, 'repmgrd_start'), primaryFacts(1));
      const spooled = (await readdir(n1.spoolDir)).filter((f) => f.endsWith('.json'));
      expect(spooled).toHaveLength(1);
      await runHook(n1, repmgrArgs(n1, 'repmgrd_reload'), primaryFacts(1));
      expect((await readdir(n1.spoolDir)).filter((f) => f.endsWith('.json'))).toHaveLength(2);
      expect((await status(stack, proxied)).journal).toHaveLength(0);

      // API back: the next call sends the spool oldest first, then its own event.
      proxy = makeProxy();
      await new Promise<void>((resolve) => proxy!.listen(port, '127.0.0.1', resolve));
      await runHook(n1, repmgrArgs(n1, 'child_node_new_connect'), primaryFacts(1));

      expect((await readdir(n1.spoolDir)).filter((f) => f.endsWith('.json'))).toHaveLength(0);
      const journal = (await status(stack, proxied)).journal.reverse();
      expect(journal.map((j: { type: string }) => j.type)).toEqual(['repmgrd_start', 'repmgrd_reload', 'child_node_new_connect']);
      await routesOn(stack, proxied, n1.eni);
      void n2;
      void node2;
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => (proxy ? proxy.close(() => resolve()) : resolve()));
      await proxied.cleanup();
    }
  });
});
