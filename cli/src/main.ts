/**
 * Entry point of the built operator CLI (scripts/build-cli.mjs bundles it to cli/dist/vipswitch.cjs; bin/vipswitch.mjs
 * runs that). No tsx, no TypeScript at run time.
 */
import { resolve } from 'node:path';
import { runCli } from './program';

// The AWS SDK warns on every run that its releases after January 2027 need Node 22: noise for an operator on Node 20
// (package.json engines), and on stderr where errors go. Only that warning is dropped.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const type = typeof warning === 'string' ? (typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type) : warning.name;
  const text = typeof warning === 'string' ? warning : warning.message;
  if (type === 'NodeVersionSupportWarning' || text.startsWith('NodeVersionSupportWarning')) return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

// The repository root, for `drill`: set by bin/vipswitch.mjs; else two levels up from the bundle (cli/dist/).
const root = process.env.VIPSWITCH_ROOT ?? resolve(__dirname, '../..');

runCli(process.argv.slice(2), {
  root,
  io: {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    now: () => new Date(),
  },
}).then(
  // Exit now: a client's lingering socket must not keep an operator's shell waiting. stdout and stderr are
  // synchronous for files and pipes on Linux, so nothing written is lost.
  (code) => process.exit(code),
  (error) => {
    process.stderr.write(`vipswitch: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exit(1);
  },
);
