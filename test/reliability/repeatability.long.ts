/**
 * R5, repeatability (issue 10; long form only: `npm run reliability` runs `*.long.ts` through jest.long.config.cjs,
 * and `npm test`'s jest.config.cjs never matches them, so CI has no skipped test): 20 consecutive real failovers and
 * 20 switchovers each for repmgr and Patroni, and 20 failovers each for keepalived and Pgpool-II, on ONE cluster per
 * tool — the vipswitch drill (local/drill/vipswitch-drill.ts: real PostgreSQL 15 + repmgr 5.3 / Patroni 3 + etcd /
 * keepalived 2.2 in network namespaces / Pgpool-II 4.3's watchdog, the real hook, the local stack under the AWS-like
 * profile with Route 53 INSYNC shortened to 3 s) with its scenarios repeated:
 *  - repmgr: failover → rejoin → switchover;
 *  - Patroni: switchover → failover → rejoin;
 *  - keepalived: failover → old-primary-returns (the killed primary comes back on its old timeline: a stale claim,
 *    refused, the endpoint stays; then it is rejoined as a standby). keepalived has no switchover of its own;
 *  - Pgpool-II: leader-killed (kill -9 of the watchdog leader's pgpool: the new leader's if_up_cmd moves the endpoint;
 *    the killed member joins again as a standby). Pgpool-II's watchdog has no switchover of its own.
 * Reported per tool and kind: n/n with the endpoint (every mechanism) and the primary on the right node at the end of
 * the move, and the CLIENT-visible write outage (the drill's write client: a row every 50 ms through whatever node the
 * route table points at; from the last write acknowledged through the old node to the first through the new one),
 * plus the drill's committed → moved → verified times. A failed scenario ends that tool's run (the drill stops
 * there): the count says so.
 *
 *   VIPSWITCH_R5_CYCLES=<n> (default 20), VIPSWITCH_R5_TOOLS=repmgr,patroni,keepalived,pgpool (default: all four;
 *   a subset writes r5-repeatability-<tools>.json, never over the full run's r5-repeatability.json), DRILL_LOGS_DIR
 *   (each tool's cluster logs copied there before its teardown), DRILL_VERBOSE=1 (the drills' timelines live)
 */
import { runVipswitchDrill, type DrillResult, type DrillScenarioResult, type DrillTool } from '../../local/drill/vipswitch-drill';
import { distribution, publish, table } from './support/report';

const CYCLES = Number(process.env.VIPSWITCH_R5_CYCLES ?? 20);
const TOOLS = (process.env.VIPSWITCH_R5_TOOLS ?? 'repmgr,patroni,keepalived,pgpool').split(',') as DrillTool[];
/** One cycle of each tool's drill scenarios: every cycle starts and ends with every node up and one primary. */
const CYCLE: Record<DrillTool, string[]> = {
  repmgr: ['failover', 'rejoin', 'switchover'],
  patroni: ['switchover', 'failover', 'rejoin'],
  keepalived: ['failover', 'old-primary-returns'],
  pgpool: ['leader-killed'],
};
/** The moves counted, by kind: the drill scenario that is each tool's failover / switchover. */
const KINDS: Record<DrillTool, Record<string, string>> = {
  repmgr: { failover: 'failover', switchover: 'switchover' },
  patroni: { failover: 'failover', switchover: 'switchover' },
  keepalived: { failover: 'failover' },
  pgpool: { failover: 'leader-killed' },
};
const INSYNC_MS = 3000;

const step = (s: DrillScenarioResult, name: string) => s.timeline.find((t) => t.step === name)?.atMs ?? null;

function summarise(tool: DrillTool, result: DrillResult, planned: number) {
  const kinds: Record<string, unknown> = {};
  const rows: (string | number | null)[][] = [];
  for (const [kind, scenario] of Object.entries(KINDS[tool])) {
    const all = result.scenarios.filter((s) => s.name === scenario);
    const right = all.filter((s) => s.ok && s.endpointAtEnd === s.to && s.primaryAtEnd === s.to && s.to !== s.from);
    const outage = all.map((s) => s.client?.outageMs).filter((v): v is number => typeof v === 'number');
    const committed = all.map((s) => step(s, 'committed')).filter((v): v is number => v !== null);
    const moved = all.map((s) => [step(s, 'committed'), step(s, 'moved')]).filter((p): p is [number, number] => p[0] !== null && p[1] !== null).map(([c, m]) => m - c);
    const verified = all.map((s) => [step(s, 'committed'), step(s, 'verified')]).filter((p): p is [number, number] => p[0] !== null && p[1] !== null).map(([c, v]) => v - c);
    const nonPrimaryAcks = all.reduce((n, s) => n + (s.client?.nonPrimaryAcks ?? 0), 0);
    kinds[kind] = {
      scenario,
      planned,
      ran: all.length,
      right: right.length,
      clientOutageMs: distribution(outage),
      actionToCommittedMs: distribution(committed),
      committedToMovedMs: distribution(moved),
      committedToVerifiedMs: distribution(verified),
      nonPrimaryAcks,
      failures: all.filter((s) => !right.includes(s)).map((s) => ({ from: s.from, to: s.to, endpointAtEnd: s.endpointAtEnd, primaryAtEnd: s.primaryAtEnd, error: s.error ?? null })),
    };
    const o = distribution(outage);
    const v = distribution(verified);
    rows.push([tool, kind === scenario ? kind : `${kind} (${scenario})`, `${right.length}/${planned}`, o.p50, o.p90, o.max, distribution(moved).p50, v.p50, v.max, nonPrimaryAcks]);
  }
  // the scenarios between the moves (rejoin, old-primary-returns): each must pass for the next cycle to run
  const others = result.scenarios.filter((s) => !Object.values(KINDS[tool]).includes(s.name));
  const between = { ran: others.length, ok: others.filter((s) => s.ok).length, names: [...new Set(others.map((s) => s.name))] };
  return { kinds, between, rows, error: result.error ?? null, ok: result.ok, cluster: result.cluster };
}

describe('R5: repeatability — consecutive real failovers and switchovers (long form)', () => {
  const figures: Record<string, unknown> = { cycles: CYCLES, insyncMs: INSYNC_MS, latency: 'aws', outageSource: 'the drill write client (client-visible)' };
  const rows: (string | number | null)[][] = [['tool', 'kind', 'right node', 'client outage p50 ms', 'p90 ms', 'max ms', 'committed→moved p50 ms', 'committed→verified p50 ms', 'max ms', 'non-primary acks']];

  // written after each tool, so a run stopped part-way keeps the tools it finished; a subset of the tools is written
  // apart (r5-repeatability-<tools>) and never overwrites the full run's figures
  const name = process.env.VIPSWITCH_R5_TOOLS ? `r5-repeatability-${TOOLS.join('-')}` : 'r5-repeatability';
  const save = () => publish(name, figures, table(rows));

  for (const tool of TOOLS) {
    it(
      `${tool}: ${Object.keys(KINDS[tool]).map((k) => `${CYCLES} ${k}s`).join(' and ')}, each with the endpoint on the new primary`,
      async () => {
        const scenarios = Array.from({ length: CYCLES }, () => CYCLE[tool]).flat();
        const lines: string[] = [];
        const started = Date.now();
        const result = await runVipswitchDrill({
          tool,
          scenarios,
          latency: 'aws',
          insyncMs: INSYNC_MS,
          log: (line) => (lines.push(line), process.env.DRILL_VERBOSE ? process.stdout.write(`${line}\n`) : undefined),
          // DRILL_LOGS_DIR: the cluster's logs (PostgreSQL, repmgrd / Patroni / keepalived / pgpool, hooks) kept per tool
          ...(process.env.DRILL_LOGS_DIR ? { logsDir: `${process.env.DRILL_LOGS_DIR}/${tool}` } : {}),
        });
        const s = summarise(tool, result, CYCLES);
        figures[tool] = { ...s.kinds, between: s.between, wallMs: Date.now() - started, error: s.error, cluster: s.cluster };
        rows.push(...s.rows);
        save();
        if (!result.ok) process.stdout.write(`R5 ${tool}: the drill failed (${result.error ?? 'a scenario failed'}); last lines:\n${lines.slice(-60).join('\n')}\n`);
        expect(result.error ?? null).toBeNull();
        for (const kind of Object.keys(KINDS[tool])) expect({ tool, kind, right: (s.kinds[kind] as { right: number }).right }).toEqual({ tool, kind, right: CYCLES });
        expect(s.between.ok).toBe(s.between.ran);
      },
      CYCLES * 6 * 60_000 + 600_000,
    );
  }
});
