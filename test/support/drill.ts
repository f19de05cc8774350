import { existsSync } from 'node:fs';
import { processesOf } from '../../local/drill/util';
import { formatDrillTable, runVipswitchDrill, type DrillResult, type DrillScenarioResult, type DrillTool } from '../../local/drill/vipswitch-drill';

/** Route 53 PENDING → INSYNC in the e2e drills: the AWS-like profile, but seconds instead of 30–60 s. */
export const E2E_INSYNC_MS = 3000;

/**
 * One vipswitch drill per test file (local stack with the AWS-like latency profile and a short Route 53 INSYNC, real
 * cluster, real hook), started in beforeAll. DRILL_VERBOSE=1 prints the live timeline; otherwise it is printed when
 * the drill was not ok.
 */
export function drillRun(tool: DrillTool) {
  const lines: string[] = [];
  const abort = new AbortController();
  let running: Promise<DrillResult> | undefined;
  const log = (line: string) => {
    lines.push(line);
    if (process.env.DRILL_VERBOSE) process.stdout.write(`${line}\n`);
  };
  return {
    lines,
    async run(): Promise<DrillResult> {
      running = runVipswitchDrill({ tool, log, signal: abort.signal, latency: 'aws', insyncMs: E2E_INSYNC_MS, ...(process.env.DRILL_LOGS_DIR ? { logsDir: `${process.env.DRILL_LOGS_DIR}/${tool}` } : {}) });
      const result = await running;
      if (!result.ok && !process.env.DRILL_VERBOSE) process.stdout.write(`${lines.join('\n')}\n`);
      // the final table (with the client-visible write outage and the writes acknowledged by a non-primary), as the CLI prints it
      process.stdout.write(`${formatDrillTable(result)}\n`);
      for (const s of result.scenarios) for (const w of s.warnings) process.stdout.write(`drill ${tool} ${s.name}: WARNING ${w}\n`);
      return result;
    },
    /** afterAll: a drill still running (beforeAll timed out) stops at its next poll and tears everything down. */
    async stop(): Promise<void> {
      abort.abort();
      await running?.catch(() => undefined);
    },
  };
}

export function scenario(result: DrillResult, name: string): DrillScenarioResult {
  const s = result.scenarios.find((x) => x.name === name);
  if (!s) throw new Error(`scenario ${name} did not run (${result.error ?? 'no error recorded'})`);
  return s;
}

/** ms from the action of each named step, asserting each is present, once, and in this order (non-decreasing). */
export function expectOrdered(s: DrillScenarioResult, steps: string[]): number[] {
  const at = steps.map((step) => {
    const found = s.timeline.filter((t) => t.step === step);
    expect({ scenario: s.name, step, count: found.length }).toEqual({ scenario: s.name, step, count: 1 });
    return found[0]!.atMs;
  });
  expect(at[0]).toBe(0);
  for (let i = 1; i < at.length; i++) {
    expect({ scenario: s.name, step: steps[i], after: steps[i - 1], ok: at[i]! >= at[i - 1]! }).toEqual({ scenario: s.name, step: steps[i], after: steps[i - 1], ok: true });
  }
  // detection, when there is one, lies between the action and the promote hook
  const detection = s.timeline.find((t) => t.step === 'detection');
  const hook = s.timeline.find((t) => t.step === 'promote hook');
  if (detection && hook) expect(detection.atMs >= 0 && detection.atMs <= hook.atMs).toBe(true);
  return at;
}

/**
 * A move: the endpoint left `from` for `to` (and only for `to`) after the action; timings present and ordered. On the
 * async contract: the claim was answered 202 accepted, the endpoint moved after the commit, the status API said
 * converged after that, and Route 53's writer change went INSYNC (reported apart; the actuator waits for it).
 */
export function expectMoved(s: DrillScenarioResult, maxVerifiedMs: number): void {
  expect(s.ok).toBe(true);
  expect(s.to).not.toBe(s.from);
  expect(s.endpointAtEnd).toBe(s.to);
  expect(s.primaryAtEnd).toBe(s.to);
  // after the action the endpoint was, per poll, on `from`, on no single node (mechanisms mid-move) or on `to`
  expect(s.endpointChanges.filter((c) => c.target !== null && c.target !== s.from && c.target !== s.to)).toEqual([]);
  const [, , committed, moved, verified] = expectOrdered(s, ['action', 'promote hook', 'committed', 'moved', 'verified']);
  expect(moved! - committed!).toBeLessThan(10_000);
  expect(verified).toBeLessThan(maxVerifiedMs);
  const claim = s.journal.find((j) => j.node === s.to && j.outcome === 'accepted');
  // a PostgreSQL primary's claim is out of recovery; a Pgpool-II claim comes from the quorum-backed watchdog leader
  expect(claim?.facts).toMatchObject(claim?.facts && 'watchdog' in claim.facts ? { watchdog: { leader: true, quorum: true, escalated: true } } : { inRecovery: false });
  // the hook of the new primary was answered 202 accepted (no actions in the answer: the move came after it)
  expect(s.promoteHook).toMatchObject({ node: s.to, status: 202, code: 'accepted' });
  // Route 53: the writer change was submitted after the commit and went INSYNC after the profile's delay (reported
  // apart from `verified`: a reconcile pass that finds the records in place can say converged before INSYNC)
  expect(s.route53).toBeDefined();
  const r53 = s.route53!;
  expect(r53.submittedMs).toBeGreaterThanOrEqual(committed!);
  expect(r53.insyncMs).not.toBeNull();
  expect(r53.insyncMs! - r53.submittedMs).toBeGreaterThanOrEqual(E2E_INSYNC_MS - 100);
  // the status API went converging → converged for the new epoch during the scenario
  expect(s.endpointStatus.some((e) => e.epoch === claim?.epoch && e.phase === 'converged')).toBe(true);
  expectClientFollowed(s);
}

/**
 * The write client (a row every 50 ms through the node the route table points at): no write acknowledged by a server
 * that was not the primary at that moment; on a move, an outage from the last write through the old node to the first
 * through the new one; without one, writes kept being acknowledged (the longest gap under `maxGapMs`).
 */
export function expectClientFollowed(s: DrillScenarioResult, maxGapMs = 3_000): void {
  expect(s.client).toBeDefined();
  const c = s.client!;
  expect({ scenario: s.name, nonPrimaryAcks: c.nonPrimaryAcks, nonPrimary: c.nonPrimary }).toEqual({ scenario: s.name, nonPrimaryAcks: 0, nonPrimary: [] });
  expect(c.acknowledged).toBeGreaterThan(0);
  if (s.to !== s.from) {
    expect(c.outageKind).toBe('move');
    expect(c.outageMs).not.toBeNull();
    expect(c.outageMs!).toBeGreaterThan(0);
    expect(c.firstNewAckMs!).toBeGreaterThan(c.lastOldAckMs!);
    expect(c.servers.at(-1)).toBeDefined();
  } else {
    expect(c.outageKind).toBe('gap');
    expect(c.outageMs!).toBeLessThan(maxGapMs);
  }
}

/** The endpoint never left `from` during the scenario. */
export function expectStayed(s: DrillScenarioResult): void {
  expect(s.ok).toBe(true);
  expect(s.to).toBe(s.from);
  expect(s.endpointAtEnd).toBe(s.from);
  expect(s.primaryAtEnd).toBe(s.from);
  expect(s.endpointChanges.filter((c) => c.target !== s.from)).toEqual([]);
  expect(s.journal.filter((j) => j.outcome === 'accepted' && j.node !== s.from)).toEqual([]);
  expectClientFollowed(s);
}

/** After the drill nothing of the cluster runs and its base dir is gone; the write client wrote, never to a non-primary. */
export function expectTornDown(result: DrillResult): void {
  expect(result.client).toBeDefined();
  expect(result.client!.nonPrimaryAcks).toBe(0);
  expect(result.client!.acknowledged).toBeGreaterThan(0);
  expect(result.baseDir).toMatch(/vipswitch-drill-/);
  expect(processesOf(result.baseDir!)).toEqual([]);
  expect(existsSync(result.baseDir!)).toBe(false);
  // the network namespaces a keepalived drill made are gone (their veths and bridge with them)
  for (const ns of result.namespaces ?? []) expect({ ns, exists: existsSync(`/run/netns/${ns}`) }).toEqual({ ns, exists: false });
}
