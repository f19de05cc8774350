import { converge } from '../../shared/app/converge';
import type { EndpointConfig, EndpointTarget } from '../../shared/domain/cluster';
import type { ActionReport } from '../../shared/ports/cluster-store';
import type { EndpointActuator, PointAtOptions } from '../../shared/ports/endpoint-actuator';
import { ROUTE_TABLES, storeWithCluster } from '../support/in-memory-cluster-store';

/** An actuator that records its calls and reports every route table moved to the primary's ENI. */
function recordingActuator() {
  const calls: { target: EndpointTarget; options: PointAtOptions }[] = [];
  const actuator: EndpointActuator = {
    pointAt: async (endpoints: EndpointConfig, target: EndpointTarget, options: PointAtOptions = {}) => {
      calls.push({ target, options });
      return (endpoints.routeTables?.routeTableIds ?? []).map((id): ActionReport => ({ mechanism: 'route_table', target: `${id} ${ROUTE_TABLES.vip}/32`, to: target.primary.eni, result: 'moved', verified: true }));
    },
  };
  return { actuator, calls };
}

describe('converge', () => {
  const at = new Date('2026-11-30T12:00:00.000Z');
  const now = () => at;

  it('moves the endpoint to the newest holder, records appliedEpoch and a converged status', async () => {
    const store = await storeWithCluster({ now, state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 1 } });
    const { actuator, calls } = recordingActuator();

    const result = await converge({ store, actuator, now }, 'pg-main');

    expect(result).toMatchObject({ epoch: 2, primary: 'node2', converged: true });
    expect(calls).toHaveLength(1);
    expect((await store.getCluster('pg-main'))?.state.appliedEpoch).toBe(2);
    expect((await store.loadCluster('pg-main'))?.targets).toMatchObject({ epoch: 2, phase: 'converged' });
  });

  it('reconcile leaves an epoch the actuator is still carrying out alone, and takes over one older than the actuator can run', async () => {
    const store = await storeWithCluster({ now, state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 1 } });
    const { actuator, calls } = recordingActuator();
    const converging = (ageMs: number) => store.recordTargets('pg-main', { epoch: 2, primary: 'node2', phase: 'converging', since: new Date(at.getTime() - ageMs).toISOString(), at: new Date(at.getTime() - ageMs).toISOString(), targets: [] });

    await converging(5_000);
    const inFlight = await converge({ store, actuator, now }, 'pg-main', { fresh: true, inFlightMs: 120_000 });
    await converging(180_000);
    const takenOver = await converge({ store, actuator, now }, 'pg-main', { fresh: true, inFlightMs: 120_000 });

    expect(inFlight).toMatchObject({ inFlight: true, converged: false, actions: [] });
    expect(takenOver).toMatchObject({ converged: true });
    expect(calls).toHaveLength(1);
  });

  it('passes what the last convergence verified to the actuator, except on a fresh (reconcile) pass', async () => {
    const store = await storeWithCluster({ now, state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 1 } });
    await store.recordTargets('pg-main', { epoch: 1, primary: 'node1', phase: 'converged', since: at.toISOString(), at: at.toISOString(), targets: [{ mechanism: 'route_table', target: 'rtb-1 10.0.255.10/32', to: 'eni-1', result: 'moved' }] });
    const { actuator, calls } = recordingActuator();

    await converge({ store, actuator, now }, 'pg-main');
    await converge({ store, actuator, now }, 'pg-main', { fresh: true });

    expect(calls[0]?.options.known).toEqual(new Map([['rtb-1 10.0.255.10/32', 'eni-1']]));
    expect(calls[1]?.options.known).toBeUndefined();
    expect(typeof calls[0]?.options.guard).toBe('function');
  });
  it('points again what a superseded pass moved after the newer claim committed, whatever a read says', async () => {
    const store = await storeWithCluster({ now, state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 1 } });
    const { actuator, calls } = recordingActuator();
    const racing: EndpointActuator = {
      pointAt: async (endpoints, target, options) => {
        // node3's claim commits while node2's ReplaceRoutes are in flight: they passed the guard and land after it.
        // Another invocation (node3's own actuator) converges epoch 3 before these land.
        if (calls.length === 0) await store.setState('pg-main', { primary: 'node3', timeline: 3, epoch: 3, appliedEpoch: 3 });
        return actuator.pointAt(endpoints, target, options);
      },
    };

    const result = await converge({ store, actuator: racing, now }, 'pg-main');

    expect(result).toMatchObject({ epoch: 3, primary: 'node3', converged: true });
    expect(calls.map((c) => c.target.primary.name)).toEqual(['node2', 'node3']);
    expect(calls[0]?.options.reassert).toBe('all');
    expect(calls[1]?.options.reassert).toEqual(new Set(ROUTE_TABLES.routeTableIds.map((id) => `${id} ${ROUTE_TABLES.vip}/32`)));
    // What the superseded pass wrote is known: the re-assert acts without a Describe first.
    expect(calls[1]?.options.known).toEqual(new Map(ROUTE_TABLES.routeTableIds.map((id) => [`${id} ${ROUTE_TABLES.vip}/32`, calls[0]?.target.primary.eni])));
  });

  it('until an epoch has converged once, every pass points every target whatever a read says; later passes trust their reads', async () => {
    // epoch 1's move (to node1) may have landed just before node2's commit, where a Describe can still show older values
    const store = await storeWithCluster({ now, state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 1 } });
    const { actuator, calls } = recordingActuator();

    await converge({ store, actuator, now }, 'pg-main');
    await converge({ store, actuator, now }, 'pg-main');
    await converge({ store, actuator, now }, 'pg-main', { fresh: true, inFlightMs: 120_000 });

    expect(calls.map((c) => c.options.reassert)).toEqual(['all', undefined, undefined]);
  });

  it('says converging while it re-asserts a late change, and converged again after it, even when nothing needed a write', async () => {
    const store = await storeWithCluster({ now, state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 1 } });
    const phases: string[] = [];
    const calls: PointAtOptions[] = [];
    const late: EndpointActuator = {
      pointAt: async (endpoints, target, options = {}) => {
        calls.push(options);
        const report = (result: ActionReport['result']) => (endpoints.routeTables?.routeTableIds ?? []).map((id): ActionReport => ({ mechanism: 'route_table', target: `${id} ${ROUTE_TABLES.vip}/32`, to: target.primary.eni, from: target.primary.eni, result }));
        if (calls.length > 1) {
          phases.push((await store.loadCluster('pg-main'))!.targets!.phase);
          return report('in_place');
        }
        // node3's own actuator converges epoch 3 while node2's moves are in flight.
        await store.setState('pg-main', { primary: 'node3', timeline: 3, epoch: 3, appliedEpoch: 3 });
        await store.recordTargets('pg-main', { epoch: 3, primary: 'node3', phase: 'converged', since: at.toISOString(), at: at.toISOString(), targets: [] });
        return report('moved');
      },
    };

    const result = await converge({ store, actuator: late, now }, 'pg-main');

    expect(result).toMatchObject({ epoch: 3, converged: true });
    expect(phases).toEqual(['converging']);
    expect((await store.loadCluster('pg-main'))?.targets).toMatchObject({ epoch: 3, phase: 'converged' });
  });

  it('does not point again what a superseded pass never sent', async () => {
    const store = await storeWithCluster({ now, state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 1 } });
    const calls: PointAtOptions[] = [];
    const refused: EndpointActuator = {
      pointAt: async (endpoints, target, options = {}) => {
        calls.push(options);
        if (calls.length > 1) return (endpoints.routeTables?.routeTableIds ?? []).map((id): ActionReport => ({ mechanism: 'route_table', target: `${id} ${ROUTE_TABLES.vip}/32`, to: target.primary.eni, result: 'in_place' }));
        // The guard refused both mutations (nothing sent), after node3's claim (its actuator has converged it).
        await store.setState('pg-main', { primary: 'node3', timeline: 3, epoch: 3, appliedEpoch: 3 });
        return (endpoints.routeTables?.routeTableIds ?? []).map((id): ActionReport => ({ mechanism: 'route_table', target: `${id} ${ROUTE_TABLES.vip}/32`, to: target.primary.eni, from: 'eni-1', result: 'superseded' }));
      },
    };

    const result = await converge({ store, actuator: refused, now }, 'pg-main', { fresh: true, inFlightMs: 120_000 });

    expect(result).toMatchObject({ epoch: 3, converged: true });
    expect(calls).toHaveLength(2);
    expect(calls[1]?.reassert).toBeUndefined();
  });
});
