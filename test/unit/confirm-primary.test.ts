/**
 * `vipswitch confirm` (shared/app/confirm-primary.ts) decides as the API does for the cluster's tool: a Pgpool-II
 * cluster orders its leaders by leadership tokens (Unix ms) in the fencing record's ordering slot, so an operator's
 * timeline is refused there, with nothing written and nothing moved. (The accepted path and the older-timeline refusal
 * of a repmgr cluster run against the local stack in test/integration/failover-flow.test.ts.)
 */
import { confirmPrimary } from '../../shared/app/confirm-primary';
import type { EndpointActuator } from '../../shared/ports/endpoint-actuator';
import { storeWithCluster } from '../support/in-memory-cluster-store';

const NOW = new Date('2026-11-30T20:00:00.000Z');
/** A leadership token minted a minute before NOW (the hook's clock, Unix ms). */
const TOKEN = NOW.getTime() - 60_000;

/** An actuator that must not be asked: a refusal moves nothing. */
const untouchable = new Proxy({} as EndpointActuator, {
  get: (_target, method) => () => {
    throw new Error(`the actuator was asked to ${String(method)}`);
  },
});

describe('confirmPrimary', () => {
  it.each([
    ['an ordinary timeline', 2],
    ['a timeline above every leadership token to come', Number.MAX_SAFE_INTEGER],
  ])('refuses %s in a pgpool cluster: nothing journaled, the fencing record unchanged', async (_name, timeline) => {
    // Arrange
    const store = await storeWithCluster({ now: () => NOW, config: { tool: 'pgpool' }, state: { primary: 'node1', timeline: TOKEN, epoch: 3, appliedEpoch: 3 } });
    const before = await store.getCluster('pg-main');

    // Act
    const result = await confirmPrimary({ store, actuator: untouchable, now: () => NOW }, { cluster: 'pg-main', node: 'node2', timeline, operator: 'alice', reason: 'checked by hand', id: 'operator-1' });

    // Assert
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/pgpool cluster the endpoint follows the watchdog leader/) });
    expect((await store.getCluster('pg-main'))?.state).toEqual(before?.state);
    expect(await store.readJournal('pg-main', 10)).toEqual([]);
  });

  it('still refuses an older timeline in a repmgr cluster, under the same fencing rule', async () => {
    // Arrange
    const store = await storeWithCluster({ now: () => NOW, state: { primary: 'node1', timeline: 3, epoch: 3, appliedEpoch: 3, systemIdentifier: '7431525978089455740' } });

    // Act
    const result = await confirmPrimary({ store, actuator: untouchable, now: () => NOW }, { cluster: 'pg-main', node: 'node2', timeline: 2, operator: 'alice', reason: 'checked by hand', id: 'operator-2' });

    // Assert
    expect(result).toEqual({ ok: false, reason: expect.stringMatching(/node2 claims primary on timeline 2/) });
    expect(await store.readJournal('pg-main', 10)).toEqual([]);
  });
});
