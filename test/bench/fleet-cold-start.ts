/**
 * Cold start and size of each Lambda as serverless.yml deploys it: bundled by esbuild with serverless.yml's own esbuild
 * settings (custom.esbuild: bundle, minify, sourcemap, sourcesContent, platform, target, format, mainFields, banner, plugins, external,
 * extension: every option serverless-esbuild passes on), the size of the bundle (its source map, shipped beside it, is
 * given apart), and its cold init: the time to import that file in a fresh node process started with the functions'
 * NODE_OPTIONS (provider.environment, e.g. --enable-source-maps), median of several runs. What Lambda adds on top (its
 * runtime's start, fetching the code) is not in this figure.
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
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
  /** The bundle as deployed (serverless.yml's settings), bytes. */
  bytes: number;
  /** Its source map, bytes (0 without one): shipped beside it, read only when a stack trace is mapped. */
  mapBytes: number;
  /** Cold import of the deployed bundle in a fresh node process with the functions' NODE_OPTIONS, ms. */
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
async function importMs(file: string, nodeOptions: string | undefined): Promise<number> {
  const script = `const t0 = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t0));`;
  const env = { PATH: process.env.PATH, ...IMPORT_ENV, ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) };
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env, timeout: 60_000 });
  return Number(stdout);
}

interface Serverless {
  provider: { environment?: Record<string, unknown> };
  functions: Record<string, { handler: string }>;
  custom: { esbuild: Record<string, any> };
}

/** serverless.yml's custom.esbuild as the esbuild options serverless-esbuild builds with (the plugins file loaded). */
export function esbuildOptionsOf(root: string, e: Record<string, any>): BuildOptions {
  const plugins: Plugin[] = typeof e.plugins === 'string' ? createRequire(join(root, 'package.json'))(join(root, e.plugins)) : (e.plugins ?? []);
  const external = [...(e.external ?? []), ...(e.exclude ?? [])].filter((x: string) => x !== '*');
  return {
    bundle: e.bundle,
    minify: e.minify === true,
    sourcemap: e.sourcemap,
    ...(e.sourcesContent === false ? { sourcesContent: false } : {}),
    target: e.target,
    platform: e.platform,
    format: e.format,
    banner: e.banner,
    ...(e.mainFields ? { mainFields: e.mainFields } : {}),
    ...(external.length > 0 ? { external } : {}),
    plugins,
  };
}

export async function coldStartAndSize(root: string, runs = 7): Promise<ColdStartReport> {
  const sls = parse(await readFile(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'error' }) as Serverless;
  const e = sls.custom.esbuild;
  const options = esbuildOptionsOf(root, e);
  const nodeOptions = typeof sls.provider.environment?.NODE_OPTIONS === 'string' ? sls.provider.environment.NODE_OPTIONS : undefined;
  const settings = { ...options, plugins: (options.plugins ?? []).map((p) => p.name), outExtension: e.outputFileExtension, nodeOptions: nodeOptions ?? null };
  const dir = await mkdtemp(join(tmpdir(), 'vipswitch-coldstart-'));
  const functions: FunctionFigures[] = [];
  try {
    for (const [name, fn] of Object.entries(sls.functions)) {
      const entry = join(root, `${fn.handler.replace(/\.[^.]+$/, '')}.ts`);
      const out = join(dir, name, `handler${e.outputFileExtension ?? '.js'}`);
      await build({ ...options, entryPoints: [entry], outfile: out, logLevel: 'silent', absWorkingDir: root });
      const mapBytes = await stat(`${out}.map`).then((s) => s.size, () => 0);
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) samples.push(await importMs(out, nodeOptions));
      functions.push({ name, handler: fn.handler, bytes: (await stat(out)).size, mapBytes, initMs: summarize(samples) });
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
  const s = r.settings;
  const lines = [
    `== cold start and size (as serverless.yml deploys: minify ${String(s.minify)}, sourcemap ${String(s.sourcemap)}, mainFields ${JSON.stringify(s.mainFields ?? null)}, plugins ${JSON.stringify(s.plugins)}; init = import in a fresh node${s.nodeOptions ? ` with NODE_OPTIONS=${String(s.nodeOptions)}` : ''}, median of ${r.runs}) ==`,
    `${'function'.padEnd(14)} ${'bundle'.padStart(10)} ${'its map'.padStart(10)} ${'init p50'.padStart(9)} ${'init max'.padStart(9)}  target ≤ ${kb(targets.bytes)}, ≤ ${targets.initMs} ms`,
  ];
  for (const f of r.functions) {
    const size = f.bytes <= targets.bytes;
    const init = (f.initMs?.p50 ?? Infinity) <= targets.initMs;
    const verdict = size && init ? 'PASS' : `MISS (${[size ? '' : 'size', init ? '' : 'init'].filter(Boolean).join(', ')})`;
    lines.push(`${f.name.padEnd(14)} ${kb(f.bytes).padStart(10)} ${kb(f.mapBytes).padStart(10)} ${`${f.initMs?.p50 ?? '?'} ms`.padStart(9)} ${`${f.initMs?.max ?? '?'} ms`.padStart(9)}  ${verdict}`);
  }
  lines.push(`(node -e 0 itself: p50 ${r.nodeStartMs?.p50} ms, not included above; the map is shipped beside the bundle and not counted in its size)`);
  return lines.join('\n');
}
