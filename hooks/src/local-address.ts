import { execFile } from 'node:child_process';
import type { VipEvent } from '../../shared/domain/event';
import { PGPOOL_RELEASE_COMMANDS } from '../../shared/domain/pgpool-argv';
import { parseCidr, type LocalAddressConfig } from './config';

/**
 * The OS side of the `secondaryIp` mechanism (off by default, config `localAddress`). AWS moves the private IP
 * between ENIs; the new primary must also have the address on its interface, and a node that is not the primary
 * must not. Only the hook's OWN call counts: its facts and Patroni role (known before sending), and the server's
 * answer to its own event. An older spooled event's answer says nothing about the node now, so it is never used.
 */

/** What the address should be, and why (for the log). */
export interface AddressIntent {
  want: 'present' | 'absent';
  why: string;
}

/** The server's answer to one event: HTTP status and raw JSON body. */
export interface EventAnswerText {
  status: number;
  body: string;
}

/**
 * From the call itself, before any answer: this node is not the primary when its facts say it is in recovery, when
 * Patroni calls it a replica or demoted, when Patroni is stopping it, or when Pgpool-II de-escalates it. Otherwise null
 * (the answer decides).
 */
export function intentFromEvent(event: Pick<VipEvent, 'source' | 'type' | 'role' | 'facts'>): AddressIntent | null {
  if (event.facts?.inRecovery === true) return { want: 'absent', why: 'facts: in recovery' };
  if (event.source === 'patroni') {
    if (event.type === 'on_stop') return { want: 'absent', why: 'patroni on_stop' };
    if (event.role === 'replica' || event.role === 'demoted') return { want: 'absent', why: `patroni role ${event.role}` };
  }
  // Pgpool-II gives the VIP up (if_down_cmd, wd_de_escalation_command): this node no longer leads.
  if (event.source === 'pgpool' && (PGPOOL_RELEASE_COMMANDS as readonly string[]).includes(event.type)) return { want: 'absent', why: `pgpool ${event.type}` };
  return null;
}

/**
 * From the server's answer to the call's own event (a `duplicate` is read through to the first answer, `first`):
 * `accepted` naming this node as primary (not a dry run) wants the address; `stale_claim` wants it gone, unless the
 * answer still names this node as the primary. Anything else (ignored, unverified_claim, unreadable) is null.
 */
export function intentFromAnswer(answer: EventAnswerText, node: string): AddressIntent | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer.body);
  } catch {
    return null;
  }
  if (!isObject(parsed)) return null;
  let status = answer.status;
  let body = parsed;
  let via = '';
  if (body.code === 'duplicate') {
    const first = body.first;
    if (!isObject(first) || !isObject(first.body)) return null;
    if (typeof first.status === 'number') status = first.status;
    body = first.body;
    via = 'duplicate of ';
  }
  if (body.code === 'accepted' && status >= 200 && status < 300 && body.primary === node && body.dryRun !== true) {
    return { want: 'present', why: `${via}accepted: primary ${node}${typeof body.epoch === 'number' ? ` epoch ${body.epoch}` : ''}` };
  }
  if (body.code === 'stale_claim' && body.primary !== node) {
    return { want: 'absent', why: `${via}stale_claim: primary is ${typeof body.primary === 'string' ? body.primary : 'no node'}` };
  }
  return null;
}

/** What running `ip` gave: its stdout, or why it failed (exit status and first stderr line, timeout, spawn error). */
export type IpResult = { ok: true; stdout: string } | { ok: false; reason: string; stderr: string };
/** Runs the `ip` binary with an argv array, killed after `timeoutMs`. Injectable for tests. */
export type IpRunner = (file: string, args: readonly string[], timeoutMs: number) => Promise<IpResult>;

/** `execFile` (an argv array, never a shell), SIGKILLed at `timeoutMs`, `LC_ALL=C` so errors read the same everywhere. */
export function execIp(env: NodeJS.ProcessEnv): IpRunner {
  return (file, args, timeoutMs) =>
    new Promise((resolve) => {
      const bound = Math.max(1, Math.floor(timeoutMs));
      try {
        execFile(file, [...args], { timeout: bound, killSignal: 'SIGKILL', maxBuffer: 256 * 1024, encoding: 'utf8', env: { ...env, LC_ALL: 'C' } }, (error, stdout, stderr) => {
          if (!error) return resolve({ ok: true, stdout });
          const failure = error as NodeJS.ErrnoException & { killed?: boolean; signal?: string | null; code?: string | number };
          const firstLine = String(stderr ?? '').split('\n').map((line) => line.trim()).find((line) => line !== '') ?? '';
          let reason: string;
          if (failure.killed && failure.signal === 'SIGKILL') reason = `timeout after ${bound} ms`;
          else if (typeof failure.code === 'number') reason = `exit ${failure.code}${firstLine ? `: ${firstLine.slice(0, 200)}` : ''}`;
          else if (failure.signal) reason = `killed by ${failure.signal}`;
          else if (typeof failure.code === 'string') reason = `${failure.code}: ${failure.message}`;
          else reason = failure.message;
          resolve({ ok: false, reason, stderr: String(stderr ?? '') });
        });
      } catch (error) {
        resolve({ ok: false, reason: (error as Error).message, stderr: '' });
      }
    });
}

/** The outcome of one ensure step. */
export type LocalAddressOutcome =
  | { outcome: 'added' | 'removed' | 'present' | 'absent'; ms: number }
  | { outcome: 'failed'; step: 'show' | 'add' | 'del'; reason: string; ms: number };

/** The configured address as found on the interface (its prefix length may differ from the configured one). */
interface Found {
  local: string;
  prefixlen: number;
}

/**
 * Parse `ip -j addr show dev <if>`: the IPv4 entries of `ip` on that interface. Throws on output that is not the
 * JSON iproute2 writes (an array of interfaces with `addr_info`).
 */
export function findAddress(stdout: string, iface: string, ip: string): Found[] {
  const parsed: unknown = JSON.parse(stdout);
  if (!Array.isArray(parsed)) throw new Error('not a JSON array');
  const found: Found[] = [];
  for (const link of parsed) {
    if (!isObject(link)) throw new Error('an entry is not an object');
    if (Object.keys(link).length === 0) continue; // iproute2 prints [{}] for some filtered-out links
    if (typeof link.ifname === 'string' && link.ifname !== iface) continue;
    if (!Array.isArray(link.addr_info)) throw new Error('an interface has no addr_info');
    for (const info of link.addr_info) {
      if (!isObject(info) || info.family !== 'inet' || info.local !== ip) continue;
      found.push({ local: ip, prefixlen: typeof info.prefixlen === 'number' ? info.prefixlen : 32 });
    }
  }
  return found;
}

/**
 * Make the address present on / absent from the interface: `ip -j addr show dev <if>`, then `ip addr add` or
 * `ip addr del` only when needed. The whole step is bounded by `timeoutMs` (every `ip` call gets what is left).
 * Never throws: a failure is an outcome, for one log line. A concurrent add or del by another call is not a failure.
 */
export async function ensureLocalAddress(
  want: 'present' | 'absent',
  config: LocalAddressConfig,
  timeoutMs: number,
  run: IpRunner,
  now: () => number = () => performance.now(),
): Promise<LocalAddressOutcome> {
  const started = now();
  const deadline = started + timeoutMs;
  const ms = (): number => Math.round(now() - started);
  const cidr = parseCidr(config.address);
  if (cidr === null) return { outcome: 'failed', step: 'show', reason: `not an IPv4 CIDR address: ${config.address}`, ms: 0 };
  const call = async (args: string[]): Promise<IpResult> => {
    const left = deadline - now();
    if (left < 1) return { ok: false, reason: `no time left of the ${Math.round(timeoutMs)} ms bound`, stderr: '' };
    return run(config.ip, args, left);
  };

  const shown = await call(['-j', 'addr', 'show', 'dev', config.interface]);
  if (!shown.ok) return { outcome: 'failed', step: 'show', reason: shown.reason, ms: ms() };
  let found: Found[];
  try {
    found = findAddress(shown.stdout, config.interface, cidr.ip);
  } catch (error) {
    return { outcome: 'failed', step: 'show', reason: `unreadable output of ip -j addr show (${(error as Error).message})`, ms: ms() };
  }

  if (want === 'present') {
    if (found.length > 0) return { outcome: 'present', ms: ms() };
    const added = await call(['addr', 'add', config.address, 'dev', config.interface]);
    if (added.ok || /File exists/i.test(added.stderr)) return { outcome: added.ok ? 'added' : 'present', ms: ms() };
    return { outcome: 'failed', step: 'add', reason: added.reason, ms: ms() };
  }

  if (found.length === 0) return { outcome: 'absent', ms: ms() };
  for (const entry of found) {
    const address = entry.prefixlen === cidr.prefix ? config.address : `${entry.local}/${entry.prefixlen}`;
    const removed = await call(['addr', 'del', address, 'dev', config.interface]);
    if (!removed.ok && !/Cannot assign requested address/i.test(removed.stderr)) return { outcome: 'failed', step: 'del', reason: removed.reason, ms: ms() };
  }
  return { outcome: 'removed', ms: ms() };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
