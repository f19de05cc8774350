/**
 * Figures of a reliability run: printed as JSON and as a table, and written to bench/results/reliability/ (ignored by
 * git) as `<name>.json` and `<name>.txt`.
 */
import { cpus, totalmem } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../../local/root';

export const RESULTS_DIR = join(repoRoot(), 'bench/results/reliability');

/** The machine, as the README quotes it. */
export function machine(): { cpu: string; cores: number; memoryGb: number; node: string; platform: string } {
  return { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform} ${process.arch}` };
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** p50 / p90 / p99 / max of a list of ms, rounded. */
export function distribution(values: number[]): { n: number; p50: number | null; p90: number | null; p99: number | null; max: number | null } {
  const r = (v: number | null) => (v === null ? null : Math.round(v));
  return { n: values.length, p50: r(percentile(values, 50)), p90: r(percentile(values, 90)), p99: r(percentile(values, 99)), max: r(percentile(values, 100)) };
}

export function table(rows: (string | number | null)[][]): string {
  const text = rows.map((r) => r.map((c) => (c === null ? '-' : String(c))));
  const widths = text[0]!.map((_, i) => Math.max(...text.map((r) => r[i]!.length)));
  const line = (r: string[], raw: (string | number | null)[]) => `| ${r.map((c, i) => (typeof raw[i] === 'number' ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(text[0]!, rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...text.slice(1).map((r, i) => line(r, rows[i + 1]!))].join('\n');
}

/** Write and print the figures (JSON) and their table. */
export function publish(name: string, figures: Record<string, unknown>, tableText: string): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const json = JSON.stringify({ ...figures, machine: machine(), at: new Date().toISOString() }, null, 2);
  writeFileSync(join(RESULTS_DIR, `${name}.json`), `${json}\n`);
  writeFileSync(join(RESULTS_DIR, `${name}.txt`), `${tableText}\n`);
  process.stdout.write(`\n${name}: figures (${join('bench/results/reliability', `${name}.json`)})\n${json}\n\n${tableText}\n\n`);
}

/** Run `work` over `items` with at most `size` in flight; `work` gets the worker's slot (0..size-1). */
export async function pool<T, R>(items: readonly T[], size: number, work: (item: T, index: number, slot: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async (_, slot) => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i, slot);
      }
    }),
  );
  return results;
}
