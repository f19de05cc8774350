#!/usr/bin/env node
// The operator CLI. Runs the TypeScript sources through tsx (a dev dependency of this repository).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const result = spawnSync(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), join(root, 'local/cli.ts'), ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, VIPSWITCH_ROOT: root },
});
process.exit(result.status ?? 1);
