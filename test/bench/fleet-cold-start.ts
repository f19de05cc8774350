/**
 * Cold start and size of each Lambda: bundled by esbuild with serverless.yml's own esbuild settings (custom.esbuild:
 * bundle, platform, target, format, banner, extension), minified; the size of the bundle, and its cold init: the time
 * to import it in a fresh node process (the module's top level: SDK clients built, env read), median of several runs.
 * What Lambda adds on top (its runtime's start, fetching the code) is not in this figure.
 */
import { build } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { round1, summarize, type Summary } from './stats';

const run = promisify(execFile);

export interface FunctionFigures {
  name: string;
  handler: string;
  /** Minified bundle, bytes. */
  bytes: number;
  /** As serverless.yml deploys it (its own minify setting), bytes, for comparison. */
  deployedBytes: number;
  /** Cold import of the minified bundle in a fresh node process, ms. */
  initMs: Summary | null;
}

export interface ColdStartReport {
  settings: Record<string, unknown>;
  functions: FunctionFigures[];
  runs: number;
  /** `node -e 0` in the same way: the floor under every init figure is not in it (we time the import only). */
  nodeStartMs: Summary | null;
}

/** The environment every handler checks at import (shared/config/service-config.ts), with local values. */
const IMPORT_ENV = {
  TABLE_NAME: 'vipswitch-bench-state',
  TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:vipswitch-pages',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIABENCH',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'vipswitch-bench',
  LOG_LEVEL: 'ERROR',
};

/** Time the import of `file` in a fresh node process: the module's own top-level work, nothing else. */
async function importMs(file: string): Promise<number> {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t0));`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { PATH: process.env.PATH, ...IMPORT_ENV }, timeout: 60_000 });
  return Number(stdout);
}

export async function coldStartAndSize(root: string, runs = 7): Promise<ColdStartReport> {
  const sls = parse(await readFile(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'error' }) as { functions: Record<string, { handler: string }>; custom: { esbuild: Record<string, any> } };
  const e = sls.custom.esbuild;
  const settings = { bundle: e.bundle, platform: e.platform, target: e.target, format: e.format, outExtension: e.outputFileExtension, banner: e.banner, minify: true, deployedMinify: e.minify, deployedSourcemap: e.sourcemap };
  const dir = await mkdtemp(join(tmpdir(), 'vipswitch-coldstart-'));
  const functions: FunctionFigures[] = [];
  try {
    for (const [name, fn] of Object.entries(sls.functions)) {
      const entry = join(root, `${fn.handler.replace(/\.[^.]+$/, '')}.ts`);
      const common = { entryPoints: [entry], bundle: e.bundle, platform: e.platform, target: e.target, format: e.format, banner: e.banner, logLevel: 'silent' as const, absWorkingDir: root };
      const out = join(dir, `${name}.mjs`);
      await build({ ...common, minify: true, sourcemap: false, outfile: out });
      const deployed = join(dir, `${name}.deployed.mjs`);
      await build({ ...common, minify: e.minify === true, sourcemap: false, outfile: deployed });
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) samples.push(await importMs(out));
      functions.push({ name, handler: fn.handler, bytes: (await stat(out)).size, deployedBytes: (await stat(deployed)).size, initMs: summarize(samples) });
    }
    const floor: number[] = [];
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now();
      await run(process.execPath, ['-e', '0']);
      floor.push(performance.now() - t0);
    }
    return { settings, functions, runs, nodeStartMs: summarize(floor) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function formatColdStart(r: ColdStartReport, targets: { bytes: number; initMs: number }): string {
  const kb = (b: number) => `${round1(b / 1024)} KB`;
  const lines = [
    `== cold start and size (esbuild with serverless.yml's settings, minified; init = import in a fresh node, median of ${r.runs}) ==`,
    `${'function'.padEnd(14)} ${'minified'.padStart(10)} ${'as deployed'.padStart(12)} ${'init p50'.padStart(9)} ${'init max'.padStart(9)}  target ≤ ${kb(targets.bytes)}, ≤ ${targets.initMs} ms`,
  ];
  for (const f of r.functions) {
    const ok = f.bytes <= targets.bytes && (f.initMs?.p50 ?? Infinity) <= targets.initMs;
    lines.push(`${f.name.padEnd(14)} ${kb(f.bytes).padStart(10)} ${kb(f.deployedBytes).padStart(12)} ${`${f.initMs?.p50 ?? '?'} ms`.padStart(9)} ${`${f.initMs?.max ?? '?'} ms`.padStart(9)}  ${ok ? 'PASS' : 'MISS'}`);
  }
  lines.push(`(node -e 0 itself: p50 ${r.nodeStartMs?.p50} ms, not included above; "as deployed" is serverless.yml's minify: ${String(r.settings.deployedMinify)}, without its source map)`);
  return lines.join('\n');
}
