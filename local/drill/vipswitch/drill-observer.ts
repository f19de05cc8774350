/**
 * Watches one drill cluster from the outside and logs every change as it happens:
 *  - every 50 ms, from the local AWS endpoint's state view: where each endpoint mechanism points, the hosted zone's
 *    Route 53 changes (PENDING → INSYNC), the pages published;
 *  - every 250 ms, from the status API (`GET /v1/clusters/<c>`): the journal and the `endpoint` status (phase, since,
 *    at) the actuator records.
 * Both loops are {@link waitUntil} polls that end when the observer is stopped.
 */
import { describeView, endpointView, pointsAt } from '../../endpoint-view';
import type { LocalStack } from '../../stack';
import { isPgpoolFacts, type EventFacts } from '../../../shared/domain/event';
import { describeWatchdogFacts } from '../../../shared/domain/watchdog-info';
import { AbortedError, Timeline, errMsg, waitUntil } from '../util';
import type { DrillPage } from './drill-types';
import { HOSTED_ZONE, type Registration } from './register-drill-cluster';

export const POLL_MS = 50;
const STATUS_POLL_MS = 250;

/** The API's journal entry (GET /v1/clusters/<cluster>?journal=N). */
export interface ApiJournalEntry {
  eventId: string;
  receivedAt: string;
  node: string;
  type: string;
  outcome: string;
  reason: string;
  epoch: number | null;
  source: string;
  facts: EventFacts | null;
}

/** The status API's `endpoint`: where the actuator stands for an epoch. */
export interface ApiEndpointStatus {
  epoch: number;
  phase: 'converging' | 'converged' | 'failed';
  since: string | null;
  at: string | null;
  targets: { mechanism: string; target: string; desired: string; observed: string | null; state: string; result: string; error?: { code: string; message: string } }[];
}

/** The part of `GET /v1/clusters/<cluster>` the drill reads. */
export interface ClusterStatus {
  state: { primary: string | null; timeline: number | null; epoch: number; appliedEpoch?: number | null };
  endpoint: ApiEndpointStatus;
  journal: ApiJournalEntry[];
}

export interface ObservedStatus {
  /** when the drill read it */
  seenAt: number;
  epoch: number;
  phase: ApiEndpointStatus['phase'];
  /** when the actuator set this phase (ms), if it says */
  at: number | null;
  targets: ApiEndpointStatus['targets'];
}

export interface ObservedRoute53Change {
  id: string;
  submittedAt: number;
  /** first poll that showed it INSYNC (null: still PENDING) */
  insyncAt: number | null;
  changes: { action: string; name: string; type: string; values: string[] }[];
}

export class DrillObserver {
  /** endpoint changes: every mechanism on one node (its name), or null (none / mixed) */
  readonly changes: { at: number; target: string | null }[] = [];
  readonly journal: (ApiJournalEntry & { at: number })[] = [];
  readonly pages: (DrillPage & { at: number })[] = [];
  /** the status API's endpoint, each time its (epoch, phase, at) changed */
  readonly statuses: ObservedStatus[] = [];
  readonly route53 = new Map<string, ObservedRoute53Change>();
  private readonly seen = new Set<string>();
  private readonly seenPages = new Set<string>();
  private readonly names = new Map<string, string>();
  private stopper = new AbortController();
  private loops: Promise<void>[] = [];
  private lastError = '';
  /** the status API's latest answer (null until the first one) */
  latest: ClusterStatus | null = null;
  /** when `latest` was read (0: never) */
  latestAt = 0;

  constructor(
    private readonly stack: LocalStack,
    private readonly reg: Registration,
    private readonly tl: Timeline,
  ) {
    for (const n of reg.nodes) {
      this.names.set(n.eni, n.name);
      this.names.set(n.privateIp, n.name);
    }
  }

  /** A node's name from its ENI or private IP ('?' when unknown, '-' for none). */
  nameOf(eniOrIp: string | null): string {
    return eniOrIp === null ? '-' : (this.names.get(eniOrIp) ?? '?');
  }

  /**
   * Reads the local AWS endpoint's state once: records (and logs) an endpoint change, Route 53 changes submitted or
   * INSYNC, pages published. Returns where every mechanism points now: a node name, or null (none / not all the same).
   */
  sample(): string | null {
    const now = Date.now();
    const state = this.stack.aws.state();
    const view = endpointView(state, this.reg.endpoints);
    const target = this.reg.nodes.find((n) => pointsAt(view, n))?.name ?? null;
    const last = this.changes.at(-1);
    if (!last || last.target !== target) {
      this.changes.push({ at: now, target });
      this.tl.logAt(now, `endpoint: ${target === null ? 'NOT on one node' : `every mechanism on ${target}`} — ${describeView(view, (k) => this.nameOf(k)).join('; ')}`);
    }
    for (const c of state.hostedZones.find((z) => z.id === HOSTED_ZONE)?.changes ?? []) {
      let known = this.route53.get(c.id);
      if (!known) {
        known = { id: c.id, submittedAt: Date.parse(c.submittedAt), insyncAt: null, changes: c.changes };
        this.route53.set(c.id, known);
        const what = c.changes.map((x) => `${x.action} ${x.name} ${x.type} ${x.values.join(',') || '-'} (${x.values.map((v) => this.nameOf(v)).join(',') || '-'})`).join('; ');
        this.tl.logAt(known.submittedAt, `route53: change ${c.id} submitted, ${c.status} — ${what}`);
      }
      if (known.insyncAt === null && c.status === 'INSYNC') {
        known.insyncAt = now;
        this.tl.logAt(now, `route53: change ${c.id} INSYNC, ${((now - known.submittedAt) / 1000).toFixed(3)} s after it was submitted`);
      }
    }
    for (const m of state.topics.flatMap((t) => t.published)) {
      if (m.messageAttributes.cluster?.Value !== this.reg.name || this.seenPages.has(m.messageId)) continue;
      this.seenPages.add(m.messageId);
      const page = { at: Date.parse(m.timestamp), atMs: 0, type: m.messageAttributes.type?.Value, severity: m.messageAttributes.severity?.Value, subject: m.subject };
      this.pages.push(page);
      this.tl.logAt(page.at, `PAGE [${page.severity}/${page.type}] ${page.subject ?? ''}`);
    }
    return target;
  }

  /**
   * Reads the status API now (journal: newest 100): records and logs what is new; throws when it does not answer 200.
   * Only the observer's own poll (and stop) call it, one at a time, so what it records is in the order it was read.
   */
  private async refresh(): Promise<ClusterStatus> {
    const response = await fetch(`${this.stack.apiUrl}/v1/clusters/${encodeURIComponent(this.reg.name)}?journal=100`);
    const text = await response.text();
    let body: Partial<ClusterStatus> & { message?: string };
    try {
      body = JSON.parse(text) as typeof body;
    } catch {
      throw new Error(`GET cluster: HTTP ${response.status}, not JSON: ${text.slice(0, 200)}`);
    }
    if (!response.ok || !body.state || !body.endpoint) throw new Error(`GET cluster: HTTP ${response.status} ${body.message ?? text.slice(0, 200)}`);
    const status = body as ClusterStatus;
    const seenAt = Date.now();
    this.latest = status;
    this.latestAt = seenAt;
    for (const e of [...(status.journal ?? [])].reverse()) {
      const key = `${e.eventId}|${e.outcome}|${e.type}`;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      const at = Date.parse(e.receivedAt);
      this.journal.push({ ...e, at });
      const f = e.facts;
      const facts =
        f === null
          ? 'facts null'
          : isPgpoolFacts(f)
            ? `watchdog: ${describeWatchdogFacts(f.watchdog)}${f.watchdog.token !== null ? `, token ${f.watchdog.token}` : ''}`
            : `${f.inRecovery ? 'in recovery' : 'OUT of recovery'}, timeline ${f.timeline ?? '?'}`;
      this.tl.logAt(at, `journal: ${e.node} ${e.type} (${facts}) → ${e.outcome}${e.epoch !== null ? ` epoch ${e.epoch}` : ''} — ${e.reason}`);
    }
    this.journal.sort((a, b) => a.at - b.at);
    const ep = status.endpoint;
    const at = ep.at === null ? null : Date.parse(ep.at);
    const last = this.statuses.at(-1);
    if (!last || last.epoch !== ep.epoch || last.phase !== ep.phase || last.at !== at) {
      this.statuses.push({ seenAt, epoch: ep.epoch, phase: ep.phase, at, targets: ep.targets });
      const targets = ep.targets.map((t) => `${t.mechanism} ${t.result}${t.error ? ` (${t.error.code})` : ''}`).join(', ');
      this.tl.logAt(at ?? seenAt, `status: endpoint epoch ${ep.epoch} ${ep.phase}${ep.since ? ` (since ${ep.since})` : ''}${targets ? ` — ${targets}` : ''}`);
    }
    return status;
  }

  /** Starts both polls (endpoint state every 50 ms, status API every 250 ms). */
  start(): void {
    this.stopper = new AbortController();
    const poll = (what: string, intervalMs: number, tick: () => unknown) =>
      waitUntil(
        what,
        async () => {
          try {
            await tick();
          } catch (e) {
            const msg = errMsg(e);
            if (msg !== this.lastError) this.tl.log(`observer: ${what} failed: ${msg}`);
            this.lastError = msg;
          }
          return false;
        },
        Number.POSITIVE_INFINITY,
        { intervalMs, signal: this.stopper.signal },
      ).then(
        () => undefined,
        (e) => {
          if (!(e instanceof AbortedError)) throw e;
        },
      );
    this.sample();
    this.loops = [poll('the endpoint sample', POLL_MS, () => this.sample()), poll('the status API', STATUS_POLL_MS, () => this.refresh())];
  }

  /** Stops the polls, then reads everything once more. */
  async stop(): Promise<void> {
    this.stopper.abort();
    await Promise.all(this.loops);
    this.loops = [];
    await this.refresh().catch(() => undefined);
    try {
      this.sample();
    } catch {
      // the stack may be gone already
    }
  }
}
