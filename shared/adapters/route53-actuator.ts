import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  ListResourceRecordSetsCommand,
  type Change,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EndpointConfig, EndpointTarget, Route53Endpoint } from '../domain/cluster';
import type { ActionReport } from '../ports/cluster-store';
import type { EndpointActuator } from '../ports/endpoint-actuator';
import { awsError } from './ec2-route-actuator';

/** How to poll `GetChange` while waiting for INSYNC: exponential from `firstDelayMs`, capped at `maxDelayMs`. */
export interface InsyncPollOptions {
  firstDelayMs: number;
  maxDelayMs: number;
}

/** Extra time the last `GetChange` may take past the INSYNC deadline before it is abandoned. */
const LAST_READ_GRACE_MS = 500;

/** Error names SDK v3 gives an error body it could not parse (Route 53's `<InvalidChangeBatch>` root is one). */
const UNPARSED_ERROR_NAMES = new Set(['Unknown', 'UnknownError', 'Error', 'Route53ServiceException']);

type Route53Mechanism = 'route53_writer' | 'route53_reader';

/** One A record set we manage and what it should hold; `values: []` means it should not exist. */
interface Wanted {
  mechanism: Route53Mechanism;
  name: string;
  values: string[];
}

/** Route 53 answers names lower-case, fully qualified, with `\NNN` octal escapes for special characters. */
function dnsName(name: string): string {
  const plain = name.replace(/\\(\d{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8))).toLowerCase();
  return plain.endsWith('.') ? plain : `${plain}.`;
}

function valuesOf(set: ResourceRecordSet): string[] {
  return (set.ResourceRecords ?? []).map((r) => r.Value ?? '').sort();
}

function sameRecord(set: ResourceRecordSet, values: string[], ttl: number): boolean {
  const current = valuesOf(set);
  return set.TTL === ttl && set.SetIdentifier === undefined && set.AliasTarget === undefined && current.length === values.length && current.every((v, i) => v === values[i]);
}

/** A failed `ChangeResourceRecordSets`, for the report. A 400 the SDK could not parse is Route 53's InvalidChangeBatch. */
function changeError(error: unknown): { code: string; message: string } {
  const base = awsError(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (status === 400 && UNPARSED_ERROR_NAMES.has(base.code)) {
    return { code: 'InvalidChangeBatch', message: `Route 53 refused the change batch (HTTP 400, body not parsed by the SDK: ${base.message})`.slice(0, 300) };
  }
  // The modelled InvalidChangeBatch carries the reasons in `messages`; its `message` may be empty.
  const messages = (error as { messages?: unknown }).messages;
  if (Array.isArray(messages) && messages.length > 0) return { code: base.code, message: messages.join('; ').slice(0, 300) };
  return base;
}

/**
 * Route 53 mechanism: the writer A record (`writerRecord` → the primary's private IP) and, when `readerRecord` is
 * configured, a multi-value A record holding the sorted private IPs of the target's replicas (deleted when there are
 * none: a record set cannot be empty). Reads both with `ListResourceRecordSets`, compares values and TTL, and sends
 * what differs as ONE `ChangeResourceRecordSets` batch, so writer and reader change atomically. With
 * `waitForInsync`, polls `GetChange` until INSYNC, at most `insyncTimeoutSeconds` (+ {@link LAST_READ_GRACE_MS});
 * past that the targets are reported `failed`/`InsyncTimeout` although the change was accepted (a re-run then finds
 * the records in place).
 *
 * Never throws for a failed call. Throttling and `PriorRequestNotComplete` are retried by the client's own retry
 * strategy (build it with `maxAttempts` and `retryMode: 'adaptive'`); this class does not retry. A primary without a
 * private IP cannot be a writer value: that target fails with `MissingPrivateIp`, the reader still converges.
 */
export class Route53Actuator implements EndpointActuator {
  readonly #r53: Route53Client;
  readonly #poll: InsyncPollOptions;

  /** @param options.insyncPoll `GetChange` pacing; default first poll after 250 ms, doubling up to 5 s. */
  constructor(options: { client: Route53Client; insyncPoll?: Partial<InsyncPollOptions> }) {
    this.#r53 = options.client;
    this.#poll = { firstDelayMs: 250, maxDelayMs: 5000, ...options.insyncPoll };
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: { plan?: boolean } = {}): Promise<ActionReport[]> {
    const config = endpoints.route53;
    if (!config) return [];
    const started = Date.now();
    const reports = await this.#pointAt(config, target, options.plan === true);
    const ms = Date.now() - started;
    return reports.map((r) => ({ ...r, ms }));
  }

  async #pointAt(config: Route53Endpoint, target: EndpointTarget, plan: boolean): Promise<ActionReport[]> {
    const wanted: Wanted[] = [];
    const early: ActionReport[] = [];
    const writerIp = target.primary.privateIp;
    if (writerIp) wanted.push({ mechanism: 'route53_writer', name: config.writerRecord, values: [writerIp] });
    else {
      early.push({
        mechanism: 'route53_writer',
        target: this.#target(config, config.writerRecord),
        to: '',
        result: 'failed',
        error: { code: 'MissingPrivateIp', message: `node ${target.primary.name} has no private IP for ${config.writerRecord}` },
      });
    }
    if (config.readerRecord) {
      const ips = [...new Set(target.replicas.map((r) => r.privateIp).filter((ip): ip is string => !!ip))].sort();
      wanted.push({ mechanism: 'route53_reader', name: config.readerRecord, values: ips });
    }

    const observed = await Promise.all(wanted.map((w) => this.#observe(config.hostedZoneId, w.name)));
    const reports: ActionReport[] = [...early];
    const pending: Array<{ report: ActionReport; change: Change }> = [];
    wanted.forEach((w, i) => {
      const seen = observed[i] ?? { error: new Error('not observed') };
      const base = { mechanism: w.mechanism, target: this.#target(config, w.name), to: w.values.join(',') };
      if ('error' in seen) {
        reports.push({ ...base, result: 'failed', error: awsError(seen.error) });
        return;
      }
      const current = seen.set;
      const from = current ? valuesOf(current).join(',') : null;
      let change: Change | undefined;
      let result: ActionReport['result'] = 'moved';
      if (w.values.length === 0) {
        // No replicas: an empty record set does not exist in DNS, so the reader name goes away. DELETE must quote
        // the record exactly as it is.
        if (current) change = { Action: 'DELETE', ResourceRecordSet: current };
      } else if (!current || !sameRecord(current, w.values, config.ttl)) {
        change = { Action: 'UPSERT', ResourceRecordSet: { Name: w.name, Type: 'A', TTL: config.ttl, ResourceRecords: w.values.map((Value) => ({ Value })) } };
        if (!current) result = 'created';
      }
      if (!change) reports.push({ ...base, result: 'in_place', from });
      else if (plan) reports.push({ ...base, result: 'planned', from });
      else pending.push({ report: { ...base, result, from }, change });
    });
    if (pending.length === 0) return this.#ordered(reports);

    let changeId: string;
    let status: string;
    try {
      const { ChangeInfo } = await this.#r53.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: config.hostedZoneId,
          ChangeBatch: { Comment: `vipswitch: primary ${target.primary.name}`, Changes: pending.map((p) => p.change) },
        }),
      );
      changeId = (ChangeInfo?.Id ?? '').replace(/^\/change\//, '');
      status = ChangeInfo?.Status ?? 'PENDING';
    } catch (error) {
      const failure = changeError(error);
      return this.#ordered([...reports, ...pending.map((p) => ({ ...p.report, result: 'failed' as const, error: failure }))]);
    }

    if (config.waitForInsync && status !== 'INSYNC') {
      const waited = await this.#waitInsync(changeId, status, config.insyncTimeoutSeconds * 1000);
      if (!waited.insync) {
        const cause = waited.error === undefined ? '' : ` (last GetChange: ${awsError(waited.error).code})`;
        const error = {
          code: 'InsyncTimeout',
          message: `change ${changeId} was submitted and accepted but is still ${waited.status} after ${config.insyncTimeoutSeconds} s${cause}`,
        };
        return this.#ordered([...reports, ...pending.map((p) => ({ ...p.report, result: 'failed' as const, error }))]);
      }
    }
    return this.#ordered([...reports, ...pending.map((p) => p.report)]);
  }

  #target(config: Route53Endpoint, name: string): string {
    return `${config.hostedZoneId} ${name} A`;
  }

  /** Writer first, then reader: a stable order for journals and tests. */
  #ordered(reports: ActionReport[]): ActionReport[] {
    return reports.sort((a, b) => (a.mechanism === b.mechanism ? 0 : a.mechanism === 'route53_writer' ? -1 : 1));
  }

  /** The simple A record set `name`, or null when there is none. */
  async #observe(zoneId: string, name: string): Promise<{ set: ResourceRecordSet | null } | { error: unknown }> {
    try {
      const { ResourceRecordSets = [] } = await this.#r53.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: 'A', MaxItems: 1 }),
      );
      // The listing starts at `name`/A, but when that set is missing the first item is the next name in the zone.
      const set = ResourceRecordSets.find((s) => s.Type === 'A' && s.Name !== undefined && dnsName(s.Name) === dnsName(name));
      return { set: set ?? null };
    } catch (error) {
      return { error };
    }
  }

  /** Poll `GetChange` until INSYNC or the deadline; a failed poll is not the end (the change is already accepted). */
  async #waitInsync(changeId: string, status: string, timeoutMs: number): Promise<{ insync: true } | { insync: false; status: string; error: unknown }> {
    const deadline = Date.now() + timeoutMs;
    let delay = this.#poll.firstDelayMs;
    let last = status;
    let error: unknown;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { insync: false, status: last, error };
      await sleep(Math.min(delay, remaining));
      delay = Math.min(delay * 2, this.#poll.maxDelayMs);
      try {
        const abortSignal = AbortSignal.timeout(Math.max(0, deadline - Date.now()) + LAST_READ_GRACE_MS);
        const { ChangeInfo } = await this.#r53.send(new GetChangeCommand({ Id: changeId }), { abortSignal });
        last = ChangeInfo?.Status ?? last;
        error = undefined;
        if (last === 'INSYNC') return { insync: true };
      } catch (caught) {
        error = caught;
      }
    }
  }
}
