#!/usr/bin/env node
// Bundle the operator CLI (cli/src/main.ts) into ONE file, like the hook: cli/dist/vipswitch.cjs, with its
// dependencies (commander, the AWS SDK clients, yaml, zod) inside, so bin/vipswitch.mjs runs it with plain node: no tsx,
// no TypeScript at run time. Written to a temporary file and renamed, so a concurrent run never sees half a bundle.
import { chmodSync, readFileSync, renameSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'cli/dist/vipswitch.cjs');
const temporary = `${outfile}.${process.pid}.tmp`;
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

await build({
  absWorkingDir: root,
  entryPoints: ['cli/src/main.ts'],
  outfile: temporary,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  define: { __VIPSWITCH_VERSION__: JSON.stringify(version) },
  legalComments: 'none',
  logLevel: 'warning',
});
chmodSync(temporary, 0o644);
renameSync(temporary, outfile);
console.log(`${relative(root, outfile)}: ${statSync(outfile).size} bytes, version ${version}`);
