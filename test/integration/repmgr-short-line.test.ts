import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type LocalStack } from '../../local/stack';
import { primaryFacts, registerCluster, routesOn, runHook, settled, startTestStack, status, type TestCluster, type TestNode } from '../support/local';

/**
 * `event_notification_command='/usr/local/bin/vipswitch-hook repmgr %n %e %s'`: what repmgr passes with that line is
 * the node id, the event and the success flag, nothing else. The real hook binary must turn such a call into an event
 * (the hook's clock standing in for %t, marked) that the API accepts and the actuator acts on.
 */
const shortLine = (node: TestNode, event: string): string[] => [String(node.id), event, '1'];

function unparsed(node: TestNode): string[] {
  const dir = join(node.spoolDir, 'unparsed');
  return existsSync(dir) ? readdirSync(dir) : [];
}

describe('a repmgr hook line with only %n %e %s, end to end on the local stack', () => {
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
  });

  afterEach(async () => {
    await cluster.cleanup();
  });

  it('drives a promotion: the route follows node2, the journal holds the events with the hook clock marked', async () => {
    // Arrange: node1 is the running primary on timeline 1, reported with the short line too
    const { node1, node2 } = cluster.nodes;
    const before = Date.now();
    await runHook(node1!, shortLine(node1!, 'repmgrd_start'), primaryFacts(1));
    await routesOn(stack, cluster, node1!.eni);
    await settled(stack, cluster);

    // Act: repmgr promotes node2 and runs the short line
    await runHook(node2!, shortLine(node2!, 'standby_promote'), primaryFacts(2));

    // Assert: nothing parked, the endpoint moved to node2, the claim is journaled with the hook's clock marked
    await routesOn(stack, cluster, node2!.eni);
    const s = await settled(stack, cluster);
    expect(unparsed(node1!)).toEqual([]);
    expect(unparsed(node2!)).toEqual([]);
    expect(s.state).toMatchObject({ primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 2 });
    expect(s.endpoint).toMatchObject({ epoch: 2, phase: 'converged' });
    const journal = await stack.store.readJournal(cluster.name, 50);
    const promote = journal.find((j) => j.type === 'standby_promote');
    expect(promote).toMatchObject({ node: 'node2', outcome: 'accepted', event: { raw: { argv: ['2', 'standby_promote', '1'], occurredAtFrom: 'hook' } } });
    const at = Date.parse(promote!.event.occurredAt);
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now() + 1000);
  });

  it('a short line from a stale node is still refused as stale: the marker changes no decision', async () => {
    // Arrange: node2 holds timeline 2
    const { node2, node3 } = cluster.nodes;
    await runHook(node2!, shortLine(node2!, 'standby_promote'), primaryFacts(2));
    await routesOn(stack, cluster, node2!.eni);
    await settled(stack, cluster);

    // Act: node3 restarted as a primary on the older timeline 1 (no rejoin)
    await runHook(node3!, shortLine(node3!, 'repmgrd_start'), primaryFacts(1));

    // Assert
    const s = await status(stack, cluster);
    expect(s.state).toMatchObject({ primary: 'node2', epoch: 1 });
    const journal = await stack.store.readJournal(cluster.name, 50);
    expect(journal.find((j) => j.node === 'node3')).toMatchObject({ outcome: 'stale_claim', event: { raw: { argv: ['3', 'repmgrd_start', '1'], occurredAtFrom: 'hook' } } });
    expect(unparsed(node3!)).toEqual([]);
  });
});
