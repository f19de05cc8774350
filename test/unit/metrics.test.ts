import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import type { APIGatewayProxyResultV2 } from 'aws-lambda';
import { PowertoolsMetricsRecorder } from '../../shared/adapters/powertools-metrics';
import { countingLosses, countingPages, measuringConvergence, Metric, recordEventAnswer } from '../../shared/app/metrics';
import { actuationFailedPage, driftRepairedPage } from '../../shared/app/pages';
import { processEvent } from '../../shared/app/process-event';
import { reactToChanges, type ReactDeps } from '../../shared/app/react-to-changes';
import type { EndpointConfig, EndpointTarget } from '../../shared/domain/cluster';
import { AuthenticationError } from '../../shared/domain/errors';
import type { NodeFacts, VipEvent } from '../../shared/domain/event';
import { errorResponder, jsonResponse } from '../../shared/middleware/error-responder';
import { answerMetrics, flushMetrics } from '../../shared/middleware/metrics';
import type { Alerter, Page } from '../../shared/ports/alerter';
import type { ActionReport } from '../../shared/ports/cluster-store';
import type { EndpointActuator } from '../../shared/ports/endpoint-actuator';
import { buildEvent } from '../../shared/protocol/build-event';
import { ROUTE_TABLES, storeWithCluster, type InMemoryClusterStore } from '../support/in-memory-cluster-store';
import { REPMGR_SYSTEM_ID } from '../support/peers';

const NAMESPACE = 'vipswitch/test';
const NOW = new Date('2026-11-22T02:30:00.000Z');

/** One Embedded Metric Format line as CloudWatch reads it. */
interface EmfLine {
  _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  [key: string]: unknown;
}

/** Run `act` with stdout captured (where Powertools writes EMF, as in Lambda), and return the EMF lines it wrote. */
async function emfOf(act: () => unknown): Promise<EmfLine[]> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await act();
  } finally {
    spy.mockRestore();
  }
  return written
    .join('')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as EmfLine)
    .filter((line) => line._aws !== undefined);
}

/** `{ "Metric dims": value }` of every line, dims sorted, e.g. `Events service,outcome=accepted`. */
function valuesOf(lines: EmfLine[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const line of lines) {
    for (const directive of line._aws.CloudWatchMetrics) {
      const dims = directive.Dimensions[0]!.map((d) => (d === 'service' ? d : `${d}=${String(line[d])}`)).join(',');
      for (const m of directive.Metrics) out[`${m.Name} ${dims}`] = line[m.Name];
    }
  }
  return out;
}

const recorder = () => new PowertoolsMetricsRecorder({ namespace: NAMESPACE, serviceName: 'vipswitch' });

describe('PowertoolsMetricsRecorder', () => {
  it('buffers until flush, then writes one EMF line per dimension set, in the namespace with the service dimension', async () => {
    // Arrange
    const metrics = recorder();

    // Act
    const beforeFlush = await emfOf(() => {
      metrics.count('StaleClaims');
      metrics.count('Events', 1, { name: 'outcome', value: 'accepted' });
      metrics.milliseconds('CommitToMoved', 412.6);
    });
    const flushed = await emfOf(() => metrics.flush());

    // Assert
    expect(beforeFlush).toEqual([]);
    expect(flushed).toHaveLength(2);
    expect(flushed.every((l) => l._aws.CloudWatchMetrics[0]!.Namespace === NAMESPACE && l.service === 'vipswitch')).toBe(true);
    expect(valuesOf(flushed)).toEqual({ 'StaleClaims service': 1, 'CommitToMoved service': 413, 'Events service,outcome=accepted': 1 });
    const units = Object.fromEntries(flushed.flatMap((l) => l._aws.CloudWatchMetrics[0]!.Metrics.map((m) => [m.Name, m.Unit])));
    expect(units).toEqual({ StaleClaims: 'Count', CommitToMoved: 'Milliseconds', Events: 'Count' });
  });

  it('writes nothing (not even a warning line) when nothing was recorded, and drops negative or non-finite durations', async () => {
    const metrics = recorder();
    const lines = await emfOf(() => {
      metrics.milliseconds('CommitToMoved', -3);
      metrics.milliseconds('CommitToMoved', Number.NaN);
      metrics.flush();
    });
    expect(lines).toEqual([]);
  });

  it('never throws: a metric Powertools refuses is reported to onError', () => {
    const errors: unknown[] = [];
    const metrics = new PowertoolsMetricsRecorder({ namespace: NAMESPACE, serviceName: 'vipswitch', onError: (e) => errors.push(e) });
    expect(() => metrics.count('', 1)).not.toThrow();
    expect(errors).toHaveLength(1);
  });
});

describe('answerMetrics + recordEventAnswer (the ingest handler stack)', () => {
  const logger = new Logger({ serviceName: 'vipswitch', logLevel: 'SILENT' });
  const handlerAnswering = (answer: () => Promise<APIGatewayProxyResultV2>) => {
    const metrics = recorder();
    return middy<unknown, APIGatewayProxyResultV2>().use(answerMetrics(metrics, recordEventAnswer)).use(errorResponder({ logger })).handler(answer);
  };
  const invoke = (handler: ReturnType<typeof handlerAnswering>) => emfOf(() => handler({}, {} as never));

  it('an accepted claim counts Events{outcome=accepted}, and nothing else', async () => {
    const lines = await invoke(handlerAnswering(async () => jsonResponse(202, { code: 'accepted', message: 'ok', epoch: 2 })));
    expect(valuesOf(lines)).toEqual({ 'Events service,outcome=accepted': 1 });
  });

  it.each([
    ['stale_claim', 'StaleClaims'],
    ['unverified_claim', 'UnverifiedClaims'],
    ['system_identifier_mismatch', 'SystemIdentifierMismatches'],
  ])('a 409 %s counts its outcome and %s (its alarm)', async (code, metric) => {
    const lines = await invoke(handlerAnswering(async () => jsonResponse(409, { code, message: 'refused' })));
    expect(valuesOf(lines)).toEqual({ [`Events service,outcome=${code}`]: 1, [`${metric} service`]: 1 });
  });

  it('a refusal thrown before any decision is counted by the code of the answer errorResponder gave', async () => {
    const lines = await invoke(
      handlerAnswering(async () => {
        throw new AuthenticationError('bad_signature', 'signature does not match');
      }),
    );
    expect(valuesOf(lines)).toEqual({ 'Events service,outcome=bad_signature': 1 });
  });

  it('an unexpected error is counted as internal_error', async () => {
    const lines = await invoke(
      handlerAnswering(async () => {
        throw new Error('boom');
      }),
    );
    expect(valuesOf(lines)).toEqual({ 'Events service,outcome=internal_error': 1 });
  });

  it('a dry run is only dry_run, whatever it would have been: nothing was committed, no alarm may fire', async () => {
    const lines = await invoke(handlerAnswering(async () => jsonResponse(409, { code: 'stale_claim', message: 'dry run: refused', dryRun: true })));
    expect(valuesOf(lines)).toEqual({ 'Events service,outcome=dry_run': 1 });
  });

  it('a code outside the contract never mints a series of its own', () => {
    const counted: string[] = [];
    recordEventAnswer({ count: (name, _v, d) => counted.push(`${name} ${d?.value ?? ''}`), milliseconds: () => undefined, flush: () => undefined }, { status: 200, body: { code: '<script>' } });
    expect(counted).toEqual(['Events other']);
  });
});

const primaryOn = (timeline: number): NodeFacts => ({ inRecovery: false, timeline, lsn: '0/5053510', systemIdentifier: REPMGR_SYSTEM_ID });
const promote = (node: string, timeline: number): VipEvent =>
  buildEvent('repmgr', [node.replace('node', ''), 'standby_promote', '1', '2026-11-22 02:20:00.000001+00', '', '', '', '', '%r', '%m', '%z', '%'], { cluster: 'pg-main', node }, primaryOn(timeline), NOW, `${node}-promote`);

async function ingest(store: Pick<InMemoryClusterStore, 'loadCluster' | 'recordEvent'>, event: VipEvent) {
  const loaded = (await store.loadCluster(event.cluster))!;
  return processEvent({ store, now: () => NOW }, { event, loaded, replay: null });
}

describe('countingLosses', () => {
  it('counts each race the event transaction lost, and changes nothing else', async () => {
    // Arrange: node3 (TL3) commits between node2's read and its transaction
    const store = await storeWithCluster({ now: () => NOW, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
    store.beforeNext('recordEvent', async (s) => void (await ingest(s, promote('node3', 3))));
    const metrics = recorder();

    // Act
    let answer: unknown;
    const lines = await emfOf(async () => {
      answer = await ingest(countingLosses(store, metrics), promote('node2', 2));
      metrics.flush();
    });

    // Assert
    expect(answer).toMatchObject({ status: 409, body: { code: 'stale_claim', primary: 'node3' } });
    expect(valuesOf(lines)).toEqual({ 'ConditionalWriteLosses service': 1 });
  });
});

describe('countingPages', () => {
  it('counts every page by type, actuation failures and drift repairs on their own too, then hands it on', async () => {
    // Arrange
    const sent: Page[] = [];
    const inner: Alerter = { page: async (p) => void sent.push(p) };
    const metrics = recorder();
    const alerter = countingPages(inner, metrics);
    const failed: ActionReport = { mechanism: 'route_table', target: 'rtb-1 10.0.0.10/32', to: 'eni-2', result: 'failed', error: { code: 'UnauthorizedOperation', message: 'no' } };
    const moved: ActionReport = { mechanism: 'route_table', target: 'rtb-1 10.0.0.10/32', to: 'eni-2', from: 'eni-9', result: 'moved' };

    // Act
    const lines = await emfOf(async () => {
      await alerter.page(actuationFailedPage('pg-main', 'node2', 4, [failed], 'commit'));
      await alerter.page(driftRepairedPage('pg-main', 'node2', 4, [moved]));
      await alerter.page(driftRepairedPage('pg-other', 'node1', 2, [moved]));
      metrics.flush();
    });

    // Assert
    expect(sent.map((p) => p.type)).toEqual(['actuation_failed', 'drift_repaired', 'drift_repaired']);
    expect(valuesOf(lines)).toEqual({
      'ActuationFailures service': 1,
      // Two samples in one line: CloudWatch sums them (Sum = 2).
      'DriftRepairs service': [1, 1],
      'Pages service,type=actuation_failed': 1,
      'Pages service,type=drift_repaired': [1, 1],
    });
  });
});

describe('measuringConvergence (the actuate handler stack)', () => {
  /** Two route tables that take 300 and 800 ms to move and read back, on a clock the test moves. */
  function slowActuator(clock: { ms: number }): EndpointActuator {
    return {
      pointAt: async (endpoints: EndpointConfig, target: EndpointTarget): Promise<ActionReport[]> => {
        clock.ms += 800;
        return endpoints.routeTables!.routeTableIds.map((id, i) => ({ mechanism: 'route_table', target: `${id} ${endpoints.routeTables!.vip}/32`, to: target.primary.eni, from: 'eni-node1', result: 'moved', verified: true, ms: i === 0 ? 300 : 800 }));
      },
    };
  }

  it('times a committed epoch from its commit: to the first target moved, and to every target verified', async () => {
    // Arrange: node2's claim committed at NOW; the actuator starts 100 ms later, its pass takes 800 ms
    const store = await storeWithCluster({ now: () => NOW, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
    await ingest(store, promote('node2', 2));
    const changes = store.takeChanges();
    const clock = { ms: NOW.getTime() + 100 };
    const metrics = recorder();
    const deps: ReactDeps = { store, actuator: slowActuator(clock), alerter: { page: async () => undefined }, fencer: { stop: async () => ({ ok: true, state: 'stopping' }) }, now: () => new Date(clock.ms) };
    expect(ROUTE_TABLES.routeTableIds).toHaveLength(2);

    // Act
    let converged: boolean | undefined;
    const lines = await emfOf(async () => {
      const [outcome] = await reactToChanges({ ...deps, store: measuringConvergence(store, metrics, changes) }, changes);
      converged = outcome?.result?.converged;
      metrics.flush();
    });

    // Assert: the pass ran from +100 to +900 ms; the first table was done 300 ms into it
    expect(converged).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ [Metric.CommitToMoved]: 400, [Metric.CommitToVerified]: 900 });
  });

  it('times nothing when the batch committed no epoch (a member change, reconcile) or the move did not converge', async () => {
    const store = await storeWithCluster({ now: () => NOW, state: { primary: 'node1', timeline: 1, epoch: 1, appliedEpoch: 1, systemIdentifier: REPMGR_SYSTEM_ID } });
    const metrics = recorder();
    const wrapped = measuringConvergence(store, metrics, []);
    const lines = await emfOf(async () => {
      await wrapped.recordTargets('pg-main', { epoch: 1, primary: 'node1', phase: 'converged', since: NOW.toISOString(), at: NOW.toISOString(), targets: [] });
      metrics.flush();
    });
    expect(lines).toEqual([]);
  });

  it('flushMetrics writes what the invocation recorded, also when it threw', async () => {
    const metrics = recorder();
    const handler = middy()
      .use(flushMetrics(metrics))
      .handler(async () => {
        metrics.count(Metric.DriftRepairs);
        throw new Error('boom');
      });
    const lines = await emfOf(() => handler({}, {} as never).catch(() => undefined));
    expect(valuesOf(lines)).toEqual({ 'DriftRepairs service': 1 });
  });
});
