/**
 * Entry point of the bundled `vipswitch-hook` (scripts/build-hook.mjs). Zero runtime dependencies: node: built-ins
 * only, Node 18+. See help.ts for usage.
 */
import { parseCommandLine, scanHookCall } from './command-line';
import { runHook } from './main';

const argv = process.argv.slice(2);
// A repmgr / Patroni call exits 0 whatever happens (its caller is in the middle of a failover); other modes do not.
const isToolCall = ((): boolean => {
  try {
    return parseCommandLine(argv).kind === 'hook';
  } catch {
    return scanHookCall(argv) !== null;
  }
})();

function fatal(error: unknown): void {
  try {
    process.stderr.write(`vipswitch-hook: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
  } finally {
    process.exit(isToolCall ? 0 : 1);
  }
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

runHook(argv, {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
}).then(
  // Exit now: stray handles (a request destroyed at the deadline) must not keep the caller waiting. stdout and
  // stderr are synchronous for files and pipes on Linux, so nothing written is lost.
  (code) => process.exit(code),
  fatal,
);
