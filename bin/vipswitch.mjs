#!/usr/bin/env node
// The operator CLI: runs the built bundle (cli/dist/vipswitch.cjs, made by scripts/build-cli.mjs; npm start / npm test
// build it). No tsx at run time. In a clone of the repository, a bundle that is missing or older than its sources
// (cli/src, shared/, package.json) is rebuilt first, so `npx vipswitch` never runs stale code.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'cli/dist/vipswitch.cjs');
const builder = join(root, 'scripts/build-cli.mjs');

/** Newest modification time under `dir` (TypeScript sources only), 0 when it does not exist. */
function newest(dir) {
  if (!existsSync(dir)) return 0;
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (entry.name.endsWith('.ts')) latest = Math.max(latest, statSync(path).mtimeMs);
  }
  return latest;
}

const built = existsSync(bundle) ? statSync(bundle).mtimeMs : 0;
if (existsSync(builder) && existsSync(join(root, 'node_modules/esbuild'))) {
  const sources = Math.max(newest(join(root, 'cli/src')), newest(join(root, 'shared')), statSync(join(root, 'package.json')).mtimeMs);
  if (sources > built) {
    const result = spawnSync(process.execPath, [builder], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (result.status !== 0) {
      process.stderr.write('vipswitch: building the CLI failed (node scripts/build-cli.mjs)\n');
      process.exit(1);
    }
  }
} else if (built === 0) {
  process.stderr.write(`vipswitch: ${bundle} is missing: build it with "node scripts/build-cli.mjs" (npm ci first)\n`);
  process.exit(1);
}

process.env.VIPSWITCH_ROOT ??= root;
createRequire(import.meta.url)(bundle);
