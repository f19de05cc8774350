/** Rows, targets, breakdown and the printed table of one profile's bench; the JSON report of the run. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { BaselineSample } from './baseline';
import { round1, summarize, type Summary } from './stats';
import { MECHANISMS, type PromotionSample } from './vipswitch';

export interface Row {
  id: string;
  label: string;
  stats: Summary | null;
}

export interface Target {
  label: string;
  value: number | null;
  limit: number | null;
  pass: boolean;
}

export interface Load {
  loadavg: number[];
  at: string;
}

/** Everything one profile measured, as collected. */
export interface ProfileRun {
  profile: string;
  latency: unknown;
  load: { before: Load; after: Load };
  /** This bench process (it polls on every event-loop turn): CPU time over wall time, in % of one core. */
  benchCpuPercent: number;
  wallSeconds: number;
  promotions: PromotionSample[];
  insync: PromotionSample[];
  baseline: BaselineSample[];
  /** spawn → exit of `vipswitch-hook --version`, one per promotion round. */
  hookFloorMs: number[];
  /** Samples that failed (kept out of the figures), with their error. */
  failures: { scenario: string; round: number; at: string; error: string }[];
  /** Set when the stack did not recover from a failed sample and the profile stopped early. */
  aborted: string | null;
  /** `ms` of every ReplaceRoute / CreateRoute the endpoint served in this profile's run (vipswitch and baseline). */
  routeMutationMs: number[];
}

export interface ProfileReport {
  profile: string;
  latency: unknown;
  load: ProfileRun['load'];
  benchCpuPercent: number;
  wallSeconds: number;
  failures: ProfileRun['failures'];
  aborted: string | null;
  rows: Row[];
  /** Each row's p50 against the baseline's caller-blocked p50. */
  vsBaseline: { id: string; p50Ratio: number | null; timesFaster: number | null }[];
  targets: Target[];
  breakdown: { segment: string; stats: Summary | null }[];
  samples: { promotions: PromotionSample[]; insync: PromotionSample[]; baseline: BaselineSample[]; hookFloorMs: number[] };
}

const row = (id: string, label: string, samples: number[]): Row => ({ id, label, stats: summarize(samples) });
const find = (rows: Row[], id: string) => rows.find((r) => r.id === id)?.stats ?? null;

export function buildReport(run: ProfileRun): ProfileReport {
  const p = run.promotions;
  const rows: Row[] = [
    row('blocked', 'caller blocked: hook spawn → exit', p.map((s) => s.blockedMs)),
    row('floor', 'floor: vipswitch-hook --version spawn → exit', run.hookFloorMs),
    ...MECHANISMS.map((m) => row(`moved.${m.key}`, `hook → ${m.label} moved`, p.map((s) => s.movedMs[m.key] ?? Number.NaN))),
    row('moved.all', 'hook → all mechanisms moved', p.map((s) => s.allMovedMs)),
    row('verified', 'hook → verified (status converged, read-back)', p.map((s) => s.verifiedMs)),
    row('insync.verified', 'hook → verified, Route 53 waitForInsync on', run.insync.map((s) => s.verifiedMs)),
    row('insync.wait', 'Route 53 INSYNC (change answered → verified)', run.insync.map((s) => s.segments['Route 53 change answered → verified recorded (INSYNC wait)'] ?? Number.NaN)),
    row('baseline.blocked', 'baseline: aws CLI script, caller blocked', run.baseline.map((s) => s.blockedMs)),
    row('baseline.moved', 'baseline: script start → routes moved', run.baseline.map((s) => s.movedMs)),
    row('ec2.mutation', 'one EC2 route mutation (call log ms)', run.routeMutationMs),
  ];
  const baseline = find(rows, 'baseline.blocked');
  const vsBaseline = rows.map((r) => ({
    id: r.id,
    p50Ratio: r.stats && baseline && baseline.p50 > 0 ? Math.round((r.stats.p50 / baseline.p50) * 1000) / 1000 : null,
    timesFaster: r.stats && baseline && r.stats.p50 > 0 ? round1(baseline.p50 / r.stats.p50) : null,
  }));

  const blocked = find(rows, 'blocked');
  const routes = find(rows, 'moved.routes');
  const mutation = find(rows, 'ec2.mutation');
  const target = (label: string, value: number | null | undefined, limit: number | null, pass: (v: number) => boolean): Target => ({ label, value: value ?? null, limit, pass: value !== null && value !== undefined && limit !== null && pass(value) });
  const targets: Target[] = [target('caller blocked p50 ≤ 100 ms', blocked?.p50, 100, (v) => v <= 100), target('caller blocked p99 ≤ 200 ms', blocked?.p99, 200, (v) => v <= 200)];
  if (run.profile === 'instant') {
    targets.push(target('hook → routes moved p50 ≤ 110 ms', routes?.p50, 110, (v) => v <= 110));
    const faster = routes && baseline && routes.p50 > 0 ? round1(baseline.p50 / routes.p50) : null;
    targets.push(target('routes moved p50 ≥ 12× faster than baseline p50', faster, 12, (v) => v >= 12));
  } else {
    const limit = mutation ? round1(mutation.p50 + 200) : null;
    targets.push(target(`hook → routes moved p50 ≤ EC2 mutation p50 (${mutation?.p50 ?? '?'}) + 200 ms`, routes?.p50, limit, (v) => limit !== null && v <= limit));
  }

  const segments = Object.keys(p[0]?.segments ?? {}).filter((k) => !k.includes('INSYNC') && k !== 'GetChange polls');
  const breakdown = [
    ...segments.map((segment) => ({ segment, stats: summarize(p.map((s) => s.segments[segment] ?? Number.NaN)) })),
    { segment: 'INSYNC cluster: GetChange polls', stats: summarize(run.insync.map((s) => s.segments['GetChange polls'] ?? Number.NaN)) },
    { segment: 'baseline: aws CLI start → request arrives', stats: summarize(run.baseline.flatMap((s) => s.perCommand.map((c) => c.startToRequest))) },
    { segment: 'baseline: EC2 call duration', stats: summarize(run.baseline.flatMap((s) => s.perCommand.map((c) => c.callMs))) },
    { segment: 'baseline: answer → aws CLI exit', stats: summarize(run.baseline.flatMap((s) => s.perCommand.map((c) => c.answerToExit))) },
    { segment: 'baseline: aws CLI processes per promotion', stats: summarize(run.baseline.map((s) => s.commands)) },
  ];
  return { profile: run.profile, latency: run.latency, load: run.load, benchCpuPercent: run.benchCpuPercent, wallSeconds: run.wallSeconds, failures: run.failures, aborted: run.aborted, rows, vsBaseline, targets, breakdown, samples: { promotions: run.promotions, insync: run.insync, baseline: run.baseline, hookFloorMs: run.hookFloorMs } };
}

const pad = (s: string | number, n: number) => String(s).padStart(n);
const num = (x: number | null | undefined) => (x === null || x === undefined ? '-' : x.toFixed(1));
const load = (l: Load) => l.loadavg.map((x) => x.toFixed(2)).join(' ');

/** The printed section of one profile: rows, targets with PASS/MISS, breakdown. */
export function formatProfile(r: ProfileReport): string {
  const out: string[] = [];
  out.push(`== profile ${r.profile} ==  load average (1/5/15 min) before ${load(r.load.before)}, after ${load(r.load.after)}; bench process CPU ${r.benchCpuPercent.toFixed(0)}% of one core; ${r.wallSeconds.toFixed(0)} s`);
  if (r.failures.length > 0) out.push(`failed samples (left out of the figures): ${r.failures.map((f) => `${f.scenario} #${f.round} at ${f.at}: ${f.error.split('\n')[0]!.slice(0, 160)}`).join('; ')}`);
  if (r.aborted !== null) out.push(`PROFILE ABORTED: ${r.aborted}`);
  out.push(`${'row'.padEnd(50)}${pad('n', 4)}${pad('p50', 9)}${pad('p95', 9)}${pad('p99', 9)}${pad('min', 9)}${pad('max', 9)}${pad('mean', 9)}${pad('vs baseline p50', 17)}`);
  for (const row of r.rows) {
    const s = row.stats;
    const vs = r.vsBaseline.find((v) => v.id === row.id);
    const ratio = vs?.p50Ratio === null || vs?.p50Ratio === undefined ? '-' : `${vs.p50Ratio.toFixed(3)}${vs.timesFaster === null ? '' : ` (${vs.timesFaster}×)`}`;
    out.push(`${row.label.padEnd(50)}${pad(s?.n ?? 0, 4)}${pad(num(s?.p50), 9)}${pad(num(s?.p95), 9)}${pad(num(s?.p99), 9)}${pad(num(s?.min), 9)}${pad(num(s?.max), 9)}${pad(num(s?.mean), 9)}${pad(ratio, 17)}`);
  }
  out.push('targets:');
  for (const t of r.targets) out.push(`  ${t.pass ? 'PASS' : 'MISS'}  ${t.label}: ${num(t.value)}${t.limit === null ? '' : ` (limit ${t.limit})`}`);
  out.push('breakdown (all-mechanisms cluster unless named; ms from the hook log, the trigger, the call log, since/at):');
  out.push(`  ${'segment'.padEnd(62)}${pad('n', 4)}${pad('p50', 9)}${pad('p95', 9)}${pad('max', 9)}`);
  for (const b of r.breakdown) out.push(`  ${b.segment.padEnd(62)}${pad(b.stats?.n ?? 0, 4)}${pad(num(b.stats?.p50), 9)}${pad(num(b.stats?.p95), 9)}${pad(num(b.stats?.max), 9)}`);
  return out.join('\n');
}

/** Write `<dir>/<time>.json` and `<dir>/latest.json`; returns both paths. */
export async function writeReport(dir: string, report: { at: string }): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const stamped = join(dir, `${report.at.replace(/[:.]/g, '-')}.json`);
  const latest = join(dir, 'latest.json');
  await writeFile(stamped, json);
  await writeFile(latest, json);
  return [latest, stamped];
}
