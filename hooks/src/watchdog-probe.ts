import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { WatchdogFacts } from '../../shared/domain/event';
import { isQuorumBackedLeader, parseWatchdogInfo, watchdogFacts } from '../../shared/domain/watchdog-info';
import type { PcpConfig } from './config';
import { writeFileAtomic } from './spool';

/**
 * The `pgpool` mode's facts: the local watchdog's view (`pcp_watchdog_info -v`, shared/peers/pgpool/findings.md §6, §8)
 * and, when it shows this node as the quorum-backed leader, a leadership token (see {@link LeadershipClock}).
 */

/** `pcp_watchdog_info`'s argv: verbose, never prompt for a password (`-w`: the pcppass file or nothing). */
export function pcpArgs(pcp: PcpConfig): string[] {
  const args: string[] = [];
  if (pcp.host !== null) args.push('-h', pcp.host);
  if (pcp.port !== null) args.push('-p', String(pcp.port));
  if (pcp.user !== null) args.push('-U', pcp.user);
  args.push('-w', '-v');
  return args;
}

/**
 * Run `pcp_watchdog_info -v` once (execFile: an argv array, never a shell), SIGKILLed after `timeoutMs`: pcp hangs while
 * the local watchdog is shutting down or blocked (findings pitfall 5), and pgpool waits for the hook with no timeout.
 * Never rejects: any failure (pcp missing, refused, `unable to read data from socket`, timeout, odd output) is null.
 */
export function probeWatchdog(pcp: PcpConfig, timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<WatchdogFacts | null> {
  return new Promise((resolve) => {
    try {
      execFile(
        pcp.command,
        pcpArgs(pcp),
        {
          timeout: Math.max(1, Math.floor(timeoutMs)),
          killSignal: 'SIGKILL',
          maxBuffer: 256 * 1024,
          encoding: 'utf8',
          env: { ...env, LC_ALL: 'C', ...(pcp.passFile === null ? {} : { PCPPASSFILE: pcp.passFile }) },
        },
        (error, stdout) => {
          if (error) return resolve(null);
          const info = parseWatchdogInfo(stdout);
          resolve(info === null ? null : watchdogFacts(info));
        },
      );
    } catch {
      resolve(null);
    }
  });
}

/** The file, in the spool directory, holding the last token this node minted. Hidden: never a spool record. */
export const TOKEN_FILE = '.pgpool-leadership-token';

/**
 * Mints leadership tokens: the node's wall clock (Unix ms) read right BEFORE the pcp probe that showed this node as the
 * quorum-backed leader, so a hook frozen after the probe (SIGSTOP, scenario h) can never carry a later time than what it
 * observed. Strictly increasing per node: at least the last token + 1, kept in {@link TOKEN_FILE}, so a clock stepped
 * back never makes this node's newer leadership look older. Never throws: a state file that cannot be read or written
 * costs only that guarantee across a clock step (one log line).
 */
export class LeadershipClock {
  constructor(
    private readonly dir: string,
    private readonly wallClock: () => number = () => Date.now(),
  ) {}

  /** The candidate token: read before probing. */
  read(): number {
    return this.wallClock();
  }

  /** Make `candidate` this node's next token and persist it. */
  mint(candidate: number): { token: number; persisted: boolean; reason?: string } {
    let last = 0;
    try {
      const text = readFileSync(join(this.dir, TOKEN_FILE), 'utf8').trim();
      if (/^\d{1,16}$/.test(text)) last = Number(text);
    } catch {
      // first token on this node, or unreadable: the clock alone
    }
    const token = Math.max(Math.floor(candidate), last + 1);
    try {
      writeFileAtomic(this.dir, TOKEN_FILE, `${token}\n`);
      return { token, persisted: true };
    } catch (error) {
      return { token, persisted: false, reason: (error as NodeJS.ErrnoException).code ?? String(error) };
    }
  }
}

/**
 * Facts of one pgpool call: probe the watchdog; for a claim (`if_up`, `escalation`) from the quorum-backed leader,
 * attach a token minted from the clock read before the probe. Releases never get a token.
 */
export async function pgpoolFacts(
  claim: boolean,
  probe: () => Promise<WatchdogFacts | null>,
  clock: LeadershipClock,
): Promise<{ facts: WatchdogFacts | null; tokenNote?: string }> {
  const before = clock.read();
  const facts = await probe();
  if (facts === null || !claim || !isQuorumBackedLeader(facts)) return { facts };
  const minted = clock.mint(before);
  return { facts: { ...facts, token: minted.token }, ...(minted.persisted ? {} : { tokenNote: `token not persisted (${minted.reason})` }) };
}
