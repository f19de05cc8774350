/**
 * keepalived and Pgpool-II against the local stack (API → DynamoDB Local → the actuator → the local EC2 endpoint), with
 * the REAL bundled hook, calls started together from several nodes: concurrent and out-of-order notifies are safe
 * because the fencing transaction orders them (timeline for keepalived, leadership token for pgpool) and each node's
 * spool and lock send its calls one at a time. Moves and pages are awaited with deadlines, never a fixed sleep.
 */
import { type LocalStack } from '../../local/stack';
import { waitFor } from '../../local/wait-for';
import type { NodeFacts, PgpoolFacts, WatchdogFacts } from '../../shared/domain/event';
import { registerCluster, routeTargets, routesOn, runToolHook, settled, startTestStack, status, type TestCluster, type TestNode } from '../support/local';
import { KEEPALIVED_SYSTEM_ID } from '../support/peer-captures';

const primaryOn = (timeline: number): NodeFacts => ({ inRecovery: false, timeline, lsn: '0/40001B8', systemIdentifier: KEEPALIVED_SYSTEM_ID });
const standbyOn = (timeline: number): NodeFacts => ({ inRecovery: true, timeline, lsn: '0/40001B8', systemIdentifier: KEEPALIVED_SYSTEM_ID });
const leader = (token: number): PgpoolFacts => ({ watchdog: { leader: true, quorum: true, escalated: true, token, localState: 'LEADER', quorumState: 'QUORUM EXIST' } });
const watchdog = (facts: Partial<WatchdogFacts>): PgpoolFacts => ({ watchdog: { leader: false, quorum: true, escalated: false, token: null, localState: 'STANDBY', quorumState: 'QUORUM EXIST', ...facts } });

function pages(stack: LocalStack, cluster: TestCluster, type: string) {
  return stack.aws.state().topics.flatMap((t) => t.published).filter((m) => m.message.includes(cluster.name) && m.message.includes(`"type":"${type}"`));
}

function journal(s: Record<string, any>, node: string): { type: string; outcome: string; reason: string }[] {
  return s.journal.filter((j: { node: string }) => j.node === node);
}

/** Start every call at once (the hook processes race), in the given order of spawning. */
async function together(calls: (() => Promise<unknown>)[]): Promise<void> {
  await Promise.all(calls.map((call) => call()));
}

describe('keepalived and Pgpool-II on the local stack', () => {
  let stack: LocalStack;

  beforeAll(async () => {
    stack = await startTestStack();
  }, 120_000);

  afterAll(async () => {
    await stack?.stop();
  });

  describe('keepalived (tool: keepalived)', () => {
    let cluster: TestCluster;
    let node1: TestNode;
    let node2: TestNode;
    let node3: TestNode;

    beforeEach(async () => {
      cluster = await registerCluster(stack, { tool: 'keepalived', systemIdentifier: KEEPALIVED_SYSTEM_ID });
      ({ node1, node2, node3 } = cluster.nodes as { node1: TestNode; node2: TestNode; node3: TestNode });
      // node1 is MASTER over the primary on timeline 1 (scenario a: BACKUP 100, then MASTER 150).
      await runToolHook(node1, 'keepalived', ['INSTANCE', 'VI_PG', 'BACKUP', '100'], primaryOn(1));
      await routesOn(stack, cluster, node1.eni);
      await settled(stack, cluster);
    });

    afterEach(async () => {
      await cluster.cleanup();
    });

    it('a failover burst, every notify of every node started together: ends on node2 (timeline 2) with one epoch bump; the standby MASTER is paged, never moved to', async () => {
      // Scenario b with the races of c3 / e2: node2 becomes MASTER over the promoted primary (both its hooks), node1's
      // late MASTER still shows timeline 1, node1 turns BACKUP as a standby, node3 briefly MASTER as a standby (lost tie).
      await together([
        () => runToolHook(node3, 'keepalived', ['master'], standbyOn(2)),
        () => runToolHook(node1, 'keepalived', ['INSTANCE', 'VI_PG', 'MASTER', '150'], primaryOn(1)),
        () => runToolHook(node2, 'keepalived', ['INSTANCE', 'VI_PG', 'MASTER', '150'], primaryOn(2)),
        () => runToolHook(node3, 'keepalived', ['INSTANCE', 'VI_PG', 'MASTER', '100'], standbyOn(2)),
        () => runToolHook(node1, 'keepalived', ['backup'], standbyOn(2)),
        () => runToolHook(node2, 'keepalived', ['master'], primaryOn(2)),
        () => runToolHook(node3, 'keepalived', ['INSTANCE', 'VI_PG', 'BACKUP', '100'], standbyOn(2)),
        () => runToolHook(node1, 'keepalived', ['INSTANCE', 'VI_PG', 'BACKUP', '100'], standbyOn(2)),
      ]);

      await routesOn(stack, cluster, node2.eni);
      const s = await settled(stack, cluster);
      expect(s.state).toMatchObject({ primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 2 });
      expect(routeTargets(stack, cluster)).toEqual([node2.eni, node2.eni]);
      // Every call was journaled exactly once (1 setup + 8), whatever the order.
      expect(s.journal).toHaveLength(9);
      expect(journal(s, 'node3').filter((j) => j.type === 'master').map((j) => j.outcome)).toEqual(['ignored', 'ignored']);
      expect(journal(s, 'node2').filter((j) => j.outcome === 'accepted')).toHaveLength(1);
      await waitFor('the role_disagreement pages for node3', 10_000, () => pages(stack, cluster, 'role_disagreement').length >= 1);
      const [page] = pages(stack, cluster, 'role_disagreement');
      expect(page!.subject).toBe(`vipswitch ${cluster.name}: keepalived and PostgreSQL disagree on node3`);
      expect(page!.message).toMatch(/keepalived made node3 MASTER but its PostgreSQL is in recovery \(timeline 2\).*the endpoint stays on node\d. Nothing moved/);
      const health = Object.fromEntries(s.nodes.map((n: { name: string; health: string }) => [n.name, n.health]));
      expect(health).toMatchObject({ node2: 'primary', node3: 'replica' });
    });

    it('the old primary\'s MASTER delivered after the new primary\'s claim is a stale claim: 409, paged, the endpoint stays', async () => {
      await runToolHook(node2, 'keepalived', ['master'], primaryOn(2));
      await routesOn(stack, cluster, node2.eni);
      await settled(stack, cluster);

      const late = await runToolHook(node1, 'keepalived', ['INSTANCE', 'VI_PG', 'MASTER', '150'], primaryOn(1));

      expect(late.stderr).toMatch(/status=409 code=stale_claim/);
      await waitFor('the stale_claim page', 10_000, () => pages(stack, cluster, 'stale_claim').length === 1);
      const s = await settled(stack, cluster);
      expect(s.state).toMatchObject({ primary: 'node2', timeline: 2, epoch: 2 });
      expect(routeTargets(stack, cluster)).toEqual([node2.eni, node2.eni]);
    });

    it('STOP, FAULT and BACKUP set node health; the primary\'s later MASTER brings it back to primary', async () => {
      await together([
        () => runToolHook(node2, 'keepalived', ['INSTANCE', 'VI_PG', 'STOP', '100'], standbyOn(1)),
        () => runToolHook(node3, 'keepalived', ['fault'], standbyOn(1)),
        () => runToolHook(node1, 'keepalived', ['INSTANCE', 'VI_PG', 'FAULT', '150'], primaryOn(1)),
      ]);
      const faulted = await status(stack, cluster);
      const health = (s: Record<string, any>) => Object.fromEntries(s.nodes.map((n: { name: string; health: string }) => [n.name, n.health]));
      expect(health(faulted)).toEqual({ node1: 'failed', node2: 'stopped', node3: 'failed' });

      await runToolHook(node1, 'keepalived', ['master'], primaryOn(1));
      await runToolHook(node3, 'keepalived', ['backup'], standbyOn(1));

      expect(health(await status(stack, cluster))).toEqual({ node1: 'primary', node2: 'stopped', node3: 'replica' });
      expect((await settled(stack, cluster)).state).toMatchObject({ primary: 'node1', epoch: 1 });
    });
  });

  describe('Pgpool-II (tool: pgpool)', () => {
    let cluster: TestCluster;
    let node1: TestNode;
    let node2: TestNode;
    let node3: TestNode;
    let t1: number;

    beforeEach(async () => {
      cluster = await registerCluster(stack, { tool: 'pgpool' });
      ({ node1, node2, node3 } = cluster.nodes as { node1: TestNode; node2: TestNode; node3: TestNode });
      // node1's pgpool is the watchdog leader (its if_up_cmd, 20 s ago by its clock).
      t1 = Date.now() - 20_000;
      await runToolHook(node1, 'pgpool', ['up', cluster.vip], leader(t1));
      await routesOn(stack, cluster, node1.eni);
      await settled(stack, cluster);
    });

    afterEach(async () => {
      await cluster.cleanup();
    });

    it('two leaders\' calls and a standby\'s, started together: ends on the newer leader; the old leader\'s if_down never moves; the standby\'s claim is unverified and paged', async () => {
      const t2 = Date.now() - 5_000;
      await together([
        () => runToolHook(node1, 'pgpool', ['down', cluster.vip], watchdog({ leader: true, localState: 'LEADER', quorum: false, quorumState: 'QUORUM ABSENT' })),
        () => runToolHook(node3, 'pgpool', ['up', cluster.vip], watchdog({})),
        () => runToolHook(node2, 'pgpool', ['escalation'], leader(t2)),
        () => runToolHook(node1, 'pgpool', ['up', cluster.vip], leader(t1 + 40)), // the old leader's claim, late
        () => runToolHook(node2, 'pgpool', ['up', cluster.vip], leader(t2 + 40)),
      ]);

      await routesOn(stack, cluster, node2.eni);
      const s = await settled(stack, cluster);
      expect(s.state).toMatchObject({ primary: 'node2', timeline: t2 + 40 });
      expect(routeTargets(stack, cluster)).toEqual([node2.eni, node2.eni]);
      expect(journal(s, 'node1').find((j) => j.type === 'if_down')).toMatchObject({ outcome: 'ignored' });
      expect(journal(s, 'node3')).toEqual([expect.objectContaining({ type: 'if_up', outcome: 'unverified_claim' })]);
      await waitFor('the unverified_claim page for node3', 10_000, () => pages(stack, cluster, 'unverified_claim').length === 1);
    });

    it('out of order: the new leader\'s if_up first, then the old leader\'s delayed claim and its if_down 11 s later (scenario h): 409 stale, the endpoint stays', async () => {
      const t2 = Date.now() - 2_000;
      await runToolHook(node2, 'pgpool', ['up', cluster.vip], leader(t2));
      await routesOn(stack, cluster, node2.eni);
      await settled(stack, cluster);

      const late = await runToolHook(node1, 'pgpool', ['up', cluster.vip], leader(t1 + 40));
      const down = await runToolHook(node1, 'pgpool', ['down', cluster.vip], null);

      expect(late.stderr).toMatch(/status=409 code=stale_claim/);
      expect(down.stderr).toMatch(/status=200 code=ignored/);
      await waitFor('the stale_claim page', 10_000, () => pages(stack, cluster, 'stale_claim').length === 1);
      const s = await settled(stack, cluster);
      expect(s.state).toMatchObject({ primary: 'node2', timeline: t2, epoch: 2 });
      expect(routeTargets(stack, cluster)).toEqual([node2.eni, node2.eni]);
      const health = Object.fromEntries(s.nodes.map((n: { name: string; health: string }) => [n.name, n.health]));
      expect(health).toMatchObject({ node1: 'stopped', node2: 'primary' });
    });
  });
});
