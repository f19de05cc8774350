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
import type { EndpointActuator, PointAtOptions } from '../ports/endpoint-actuator';
import { awsError, runActuationCycle, type ActuationMechanism, type ActuationTarget, type Verification } from './actuation-cycle';

/**
 * How to poll `GetChange` while waiting for INSYNC: exponential from `firstDelayMs`, capped at `maxDelayMs`. The
 * fencing guard is asked at least every `guardEveryMs` during the pauses, so a newer failover is not held behind a
 * long wait for more than about that (Route 53's API is rate-limited, the guard's store read is not).
 */
export interface InsyncPollOptions {
  firstDelayMs: number;
  maxDelayMs: number;
  guardEveryMs: number;
}

/** Extra time the last `GetChange` may take past the INSYNC deadline before it is abandoned. */
const LAST_READ_GRACE_MS = 500;

/** Error names SDK v3 gives an error body it could not parse (Route 53's `<InvalidChangeBatch>` root is one). */
const UNPARSED_ERROR_NAMES = new Set(['Unknown', 'UnknownError', 'Error', 'Route53ServiceException']);

type Route53Mechanism = 'route53_writer' | 'route53_reader';

/** One A record set we manage and what it should hold; `values: []` means it should not exist. */
interface RecordTarget extends ActuationTarget {
  mechanism: Route53Mechanism;
  name: string;
  values: string[];
  ttl: number;
}

/** The accepted change batch: its id and its status when accepted. */
interface ChangeReceipt {
  changeId: string;
  status: string;
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
 * what differs as ONE `ChangeResourceRecordSets` batch, so writer and reader change atomically (one guard question
 * for both). With `waitForInsync`, verifying is polling `GetChange` until INSYNC, at most `insyncTimeoutSeconds`
 * (+ {@link LAST_READ_GRACE_MS}); past that the targets are reported `failed`/`InsyncTimeout` although the change was
 * accepted (a re-run then finds the records in place). When the guard turns false during that wait, the wait stops
 * and the targets are `superseded` (`verified: false`). Without `waitForInsync` nothing is waited for and `verified`
 * stays unset (Route 53's API already answers the new records; INSYNC is about its DNS servers).
 *
 * Never throws for a failed call. Throttling and `PriorRequestNotComplete` are retried by the client's own retry
 * strategy (build it with `maxAttempts` and `retryMode: 'adaptive'`); this class does not retry. A primary without a
 * private IP cannot be a writer value: that target fails with `MissingPrivateIp`, the reader still converges.
 */
export class Route53Actuator implements EndpointActuator {
  readonly #r53: Route53Client;
  readonly #poll: InsyncPollOptions;

  /** @param options.insyncPoll `GetChange` pacing; default first poll after 250 ms, doubling up to 5 s, guard every 1 s. */
  constructor(options: { client: Route53Client; insyncPoll?: Partial<InsyncPollOptions> }) {
    this.#r53 = options.client;
    this.#poll = { firstDelayMs: 250, maxDelayMs: 5000, guardEveryMs: 1000, ...options.insyncPoll };
  }

  async pointAt(endpoints: EndpointConfig, target: EndpointTarget, options: PointAtOptions = {}): Promise<ActionReport[]> {
    const config = endpoints.route53;
    if (!config) return [];
    const started = Date.now();
    const record = (mechanism: Route53Mechanism, name: string, values: string[]): RecordTarget => ({
      mechanism,
      target: `${config.hostedZoneId} ${name} A`,
      to: values.join(','),
      name,
      values,
      ttl: config.ttl,
    });
    const targets: RecordTarget[] = [];
    // A primary without a private IP cannot be a writer value: that target fails before anything is read.
    const writerIp = target.primary.privateIp;
    if (writerIp) targets.push(record('route53_writer', config.writerRecord, [writerIp]));
    if (config.readerRecord) {
      const ips = [...new Set(target.replicas.map((r) => r.privateIp).filter((ip): ip is string => !!ip))].sort();
      targets.push(record('route53_reader', config.readerRecord, ips));
    }
    const reports = await runActuationCycle(this.#mechanism(config, target), targets, options);
    if (!writerIp) {
      reports.unshift({
        mechanism: 'route53_writer',
        target: `${config.hostedZoneId} ${config.writerRecord} A`,
        to: '',
        result: 'failed',
        ms: Date.now() - started,
        error: { code: 'MissingPrivateIp', message: `node ${target.primary.name} has no private IP for ${config.writerRecord}` },
      });
    }
    return reports;
  }

  #mechanism(config: Route53Endpoint, target: EndpointTarget): ActuationMechanism<RecordTarget, ResourceRecordSet | null, ChangeReceipt> {
    return {
      grouping: 'batch',
      observe: (targets) => Promise.all(targets.map((t) => this.#observe(config.hostedZoneId, t.name))),
      compare: (t, current) => {
        const from = current ? valuesOf(current).join(',') : null;
        // No replicas: an empty record set does not exist in DNS, so the reader name should not exist either.
        if (t.values.length === 0) return { result: current ? 'moved' : 'in_place', from };
        if (!current) return { result: 'created', from };
        return { result: sameRecord(current, t.values, t.ttl) ? 'in_place' : 'moved', from };
      },
      act: async (pending, mutate) => {
        const changes = pending.map(({ target: t, state: current }): Change =>
          t.values.length === 0 && current
            ? // DELETE must quote the record exactly as it is.
              { Action: 'DELETE', ResourceRecordSet: current }
            : { Action: 'UPSERT', ResourceRecordSet: { Name: t.name, Type: 'A', TTL: t.ttl, ResourceRecords: t.values.map((Value) => ({ Value })) } },
        );
        const { ChangeInfo } = await mutate(() =>
          this.#r53.send(
            new ChangeResourceRecordSetsCommand({
              HostedZoneId: config.hostedZoneId,
              ChangeBatch: { Comment: `vipswitch: primary ${target.primary.name}`, Changes: changes },
            }),
          ),
        );
        return { receipt: { changeId: (ChangeInfo?.Id ?? '').replace(/^\/change\//, ''), status: ChangeInfo?.Status ?? 'PENDING' } };
      },
      verify: async (_pending, receipt, checkpoint): Promise<Verification> => {
        if (receipt?.status === 'INSYNC') return { verified: true };
        if (!config.waitForInsync || !receipt) return {};
        const waited = await this.#waitInsync(receipt, config.insyncTimeoutSeconds * 1000, checkpoint);
        if (waited.insync) return { verified: true };
        const cause = waited.error === undefined ? '' : ` (last GetChange: ${awsError(waited.error).code})`;
        return {
          verified: false,
          error: {
            code: 'InsyncTimeout',
            message: `change ${receipt.changeId} was submitted and accepted but is still ${waited.status} after ${config.insyncTimeoutSeconds} s${cause}`,
          },
        };
      },
      actError: changeError,
    };
  }

  /** The simple A record set `name`, or null when there is none. */
  async #observe(zoneId: string, name: string): Promise<{ state: ResourceRecordSet | null } | { error: unknown }> {
    try {
      const { ResourceRecordSets = [] } = await this.#r53.send(
        new ListResourceRecordSetsCommand({ HostedZoneId: zoneId, StartRecordName: name, StartRecordType: 'A', MaxItems: 1 }),
      );
      // The listing starts at `name`/A, but when that set is missing the first item is the next name in the zone.
      const set = ResourceRecordSets.find((s) => s.Type === 'A' && s.Name !== undefined && dnsName(s.Name) === dnsName(name));
      return { state: set ?? null };
    } catch (error) {
      return { error };
    }
  }

  /**
   * Poll `GetChange` until INSYNC or the deadline; a failed poll is not the end (the change is already accepted).
   * `checkpoint` (the fencing guard) runs through the pauses and throws to stop the wait once a newer epoch is committed.
   */
  async #waitInsync(
    receipt: ChangeReceipt,
    timeoutMs: number,
    checkpoint: () => Promise<void>,
  ): Promise<{ insync: true } | { insync: false; status: string; error: unknown }> {
    const deadline = Date.now() + timeoutMs;
    let delay = this.#poll.firstDelayMs;
    let last = receipt.status;
    let error: unknown;
    for (;;) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) return { insync: false, status: last, error };
      await this.#pause(Math.min(delay, remaining), checkpoint);
      delay = Math.min(delay * 2, this.#poll.maxDelayMs);
      try {
        const abortSignal = AbortSignal.timeout(Math.max(0, deadline - Date.now()) + LAST_READ_GRACE_MS);
        const { ChangeInfo } = await this.#r53.send(new GetChangeCommand({ Id: receipt.changeId }), { abortSignal });
        last = ChangeInfo?.Status ?? last;
        error = undefined;
        if (last === 'INSYNC') return { insync: true };
      } catch (caught) {
        error = caught;
      }
    }
  }

  /** Sleep `ms` in slices of at most `guardEveryMs`, asking the guard after each slice. */
  async #pause(ms: number, checkpoint: () => Promise<void>): Promise<void> {
    const until = Date.now() + ms;
    for (let left = ms; left > 0; left = until - Date.now()) {
      await sleep(Math.min(left, Math.max(1, this.#poll.guardEveryMs)));
      await checkpoint();
    }
  }
}
