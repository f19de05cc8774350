import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { EXIT, UsageError, type ExitCode } from '../errors';

/**
 * `vipswitch drill ...`: the real-cluster drill (local/drill) runs the local stack, PostgreSQL and repmgr / Patroni / keepalived / Pgpool-II on
 * this machine: development tooling, not part of the built CLI. It is handed every argument as it came, in a clone of
 * the repository with its dev dependencies (tsx), exactly as `bash scripts/bootstrap.sh drill` runs it.
 */
export async function drillCommand(root: string, args: string[], env: NodeJS.ProcessEnv): Promise<ExitCode> {
  const entry = join(root, 'local/cli.ts');
  let loader: string;
  try {
    loader = createRequire(join(root, 'package.json')).resolve('tsx');
  } catch {
    throw new UsageError(`drill runs from a clone of the vipswitch repository with its dev dependencies (npm ci in ${root}): tsx not found`);
  }
  if (!existsSync(entry)) throw new UsageError(`drill runs from a clone of the vipswitch repository: ${entry} not found`);
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(loader).href, entry, 'drill', ...args], { stdio: 'inherit', env: { ...env, VIPSWITCH_ROOT: root } });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolvePromise((code ?? (signal ? EXIT.failed : EXIT.failed)) as ExitCode);
    });
    child.on('error', () => resolvePromise(EXIT.failed));
  });
}
