/**
 * Development entry of `vipswitch drill` (through tsx: `bash scripts/bootstrap.sh drill ...`, and what the built CLI's
 * `drill` command runs). The operator CLI itself is product code in cli/ (bin/vipswitch.mjs runs its built bundle);
 * any other command given here is handed to it, from source.
 */
import { runDrillCli } from './drill/cli';

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'drill') return runDrillCli(argv.slice(1));
  const { runCli } = await import('../cli/src/program');
  const { repoRoot } = await import('./root');
  return runCli(argv, { root: repoRoot(), io: { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), env: process.env, now: () => new Date() } });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`vipswitch: ${(error as Error).message}`);
    process.exit(1);
  },
);
