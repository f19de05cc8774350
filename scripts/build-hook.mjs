#!/usr/bin/env node
// Bundle the node-side hook (hooks/src/cli.ts) into ONE file with zero runtime dependencies, runnable on Node 18+
// (Debian 12's nodejs): hooks/dist/vipswitch-hook.cjs, mode 755.
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outfile = join(root, 'hooks/dist/vipswitch-hook.cjs');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const result = await build({
  absWorkingDir: root,
  entryPoints: ['hooks/src/cli.ts'],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node18',
  banner: { js: '#!/usr/bin/env node' },
  define: { __VIPSWITCH_HOOK_VERSION__: JSON.stringify(version) },
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
});

// Zero runtime dependencies: every bundled input is our own source, and nothing is left to require but node: built-ins.
const foreign = Object.keys(result.metafile.inputs).filter((input) => !/^(hooks\/src|shared)\//.test(input));
if (foreign.length > 0) throw new Error(`the hook bundle must not contain dependencies, found: ${foreign.join(', ')}`);
const output = result.metafile.outputs[relative(root, outfile)];
const external = (output?.imports ?? []).filter((entry) => entry.external && !entry.path.startsWith('node:')).map((entry) => entry.path);
if (external.length > 0) throw new Error(`the hook bundle requires non-built-in modules: ${external.join(', ')}`);

chmodSync(outfile, 0o755);
console.log(`${relative(root, outfile)}: ${statSync(outfile).size} bytes, version ${version}`);
