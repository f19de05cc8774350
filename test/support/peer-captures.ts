/**
 * The keepalived 2.2.7 and Pgpool-II 4.3.5 captures from shared/peers (copied, unedited, into
 * test/fixtures/peers/{keepalived,pgpool}), turned into what the hook would hand the domain: its arguments after the
 * mode word, and its facts. `line` is the capture's line number (the findings' `Lnn`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NodeFacts } from '../../shared/domain/event';

const FIXTURES = join(__dirname, '..', 'fixtures', 'peers');

function jsonl(file: string): { line: number; record: Record<string, any> }[] {
  return readFileSync(join(FIXTURES, file), 'utf8')
    .split('\n')
    .map((text, index) => ({ line: index + 1, text }))
    .filter(({ text }) => text.trim() !== '')
    .map(({ line, text }) => ({ line, record: JSON.parse(text) as Record<string, any> }));
}

// ---------------------------------------------------------------------------------------------------------------
// keepalived

/** One keepalived notify invocation on a lab node (node1..3; the probe instance is left out unless asked). */
export interface KeepalivedInvocation {
  line: number;
  node: string;
  /** The file keepalived ran, named after the notify keyword (`notify`, `notify_master`, ...). */
  hookKind: string;
  invokedAt: string;
  /** argv verbatim (argv[0] is the capture stub). */
  argv: string[];
  /**
   * What follows `vipswitch-hook keepalived` when wired as the README says: the generic notify's appended words, or
   * the keyword configured after the mode word for a specific notify (keepalived passes nothing to those).
   */
  args: string[];
  /** The capture's own reading of the call: `notify-MASTER`, `notify_master`, ... */
  event: string;
  /** What the hook's psql probe would have reported (null when the capture's probe failed). */
  facts: NodeFacts | null;
  role: 'primary' | 'standby' | null;
  /** The VIP was on the node's interface when the hook ran. */
  vipHere: boolean;
}

/** keepalived's capture: 98 node invocations of run 1 (and, with `probe`, the 12 of the probe instance). */
export function loadKeepalivedInvocations(options: { probe?: boolean } = {}): KeepalivedInvocation[] {
  return jsonl('keepalived/keepalived-notify.jsonl')
    .filter(({ record }) => record.kind === 'invocation' && (options.probe || record.node !== 'probe'))
    .map(({ line, record }) => {
      const sql = record.local_state?.sql ?? null;
      const hookKind = String(record.hook_kind);
      return {
        line,
        node: record.node,
        hookKind,
        invokedAt: record.t_invoked_utc,
        argv: record.argv,
        args: hookKind === 'notify' ? record.argv.slice(1) : [hookKind],
        event: record.event,
        facts: keepalivedFacts(sql),
        role: sql?.role ?? null,
        vipHere: (record.local_addrs as string[] | undefined)?.some((a) => a.includes('10.77.0.100/')) ?? false,
      };
    });
}

/** The keepalived lab's `system_identifier` (constant over all 98 node captures). */
export const KEEPALIVED_SYSTEM_ID = '7713997281373179723';

/** Facts as the hook's probe derives them: the WAL file's timeline on a primary, the receiver's on a standby. */
function keepalivedFacts(sql: Record<string, any> | null): NodeFacts | null {
  if (sql === null || typeof sql.pg_is_in_recovery !== 'boolean') return null;
  const inRecovery = sql.pg_is_in_recovery as boolean;
  return {
    inRecovery,
    timeline: (inRecovery ? sql.wal_receiver_received_tli : sql.timeline_walfile) ?? null,
    lsn: (inRecovery ? (sql.pg_last_wal_receive_lsn ?? sql.pg_last_wal_replay_lsn) : sql.pg_current_wal_lsn) ?? null,
    systemIdentifier: sql.system_identifier ?? null,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Pgpool-II

/** One Pgpool-II watchdog command invocation (escalation, if_up, if_down, de-escalation; also arping, failover...). */
export interface PgpoolInvocation {
  line: number;
  node: string;
  /** `if_up_cmd`, `wd_escalation_command`, ... */
  cmdKind: string;
  invokedAt: string;
  /** When the hook started (capture clock), Unix ms. */
  invokedMs: number;
  argv: string[];
  /**
   * What follows `vipswitch-hook pgpool` when wired as the README says (`up $_IP_$`, `down $_IP_$`, `escalation`,
   * `de-escalation`), with the run-time value pgpool gave this call: the VIP, or `$` for the sh-run commands.
   * Null for the commands vipswitch is not wired to.
   */
  args: string[] | null;
  /** `pcp_watchdog_info -v` as run right after the hook started: its stdout (null: timeout or failure). */
  pcpVerbose: string | null;
  /** The same, as the capture script parsed it (for cross-checking the parser). */
  pcpParsed: { cluster: Record<string, string>; nodes: Record<string, string>[] } | null;
  /** When that pcp call started, Unix ms (the moment a hook would read its clock before probing). */
  pcpStartMs: number | null;
  /** How pcp failed, when it did: `timeout`, or its stderr. */
  pcpFailure: string | null;
}

const PGPOOL_WORDS: Record<string, (argv: string[]) => string[]> = {
  if_up_cmd: (argv) => ['up', argv[2]!],
  if_down_cmd: (argv) => ['down', argv[2]!],
  wd_escalation_command: (argv) => ['escalation', argv[2]!],
  wd_de_escalation_command: (argv) => ['de-escalation', argv[2]!],
};

/** Pgpool-II's capture: 57 invocations of run 1, in the order they were logged. */
export function loadPgpoolInvocations(): PgpoolInvocation[] {
  return jsonl('pgpool/pgpool-watchdog.jsonl')
    .filter(({ record }) => record.kind === 'invocation')
    .map(({ line, record }) => {
      const verbose = record.wd_state?.pcp_verbose ?? null;
      const ok = verbose !== null && verbose.rc === 0;
      const words = PGPOOL_WORDS[record.cmd_kind as string];
      return {
        line,
        node: record.node,
        cmdKind: record.cmd_kind,
        invokedAt: record.t_invoked_utc,
        invokedMs: Math.floor(Number(BigInt(record.t_invoked_ns) / 1_000_000n)),
        argv: record.argv,
        args: words ? words(record.argv) : null,
        pcpVerbose: ok ? verbose.stdout : null,
        pcpParsed: ok ? verbose.parsed : null,
        pcpStartMs: verbose?.t_start_ns ? Math.floor(Number(BigInt(verbose.t_start_ns) / 1_000_000n)) : null,
        pcpFailure: verbose === null ? 'not run' : ok ? null : verbose.timeout ? 'timeout' : String(verbose.stderr ?? `rc ${verbose.rc}`).trim(),
      };
    });
}

/** One line of wd-poll.jsonl: a node's pcp view, polled every 0.5 s, written on change. */
export interface WatchdogPoll {
  node: number;
  atMs: number;
  ok: boolean;
  quorum: string | null;
  escalated: string | null;
  /** Index of the leader as this node sees it (-1: none). */
  leader: number | null;
  selfState: string | null;
}

export function loadWatchdogPolls(): WatchdogPoll[] {
  return jsonl('pgpool/wd-poll.jsonl').map(({ record }) => ({
    node: record.node,
    atMs: Math.floor(Number(BigInt(record.t_ns) / 1_000_000n)),
    ok: record.rc === 0,
    quorum: record.quorum ?? null,
    escalated: record.escalated ?? null,
    leader: typeof record.leader === 'number' ? record.leader : null,
    selfState: record.self_state ?? null,
  }));
}
