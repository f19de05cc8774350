import { Command, CommanderError, Option } from 'commander';
import { applyCommand } from './commands/apply';
import { clusterStatus, fleetStatus } from './commands/status';
import { confirmCommand } from './commands/confirm';
import { doctorCommand } from './commands/doctor';
import { drillCommand } from './commands/drill';
import { eventsCommand } from './commands/events';
import { keysCommand } from './commands/keys';
import { reconcileCommand } from './commands/reconcile';
import { unfenceCommand } from './commands/unfence';
import { createContext, type CliContext } from './context';
import { EXIT, toCliError, type ExitCode } from './errors';
import { output, type Io, type Output } from './output';

// Set by scripts/build-cli.mjs (esbuild `define`) from package.json; absent when run from source (tests).
declare const __VIPSWITCH_VERSION__: string | undefined;
export const CLI_VERSION: string = typeof __VIPSWITCH_VERSION__ === 'string' ? __VIPSWITCH_VERSION__ : '0.0.0-source';

const EXIT_CODES_HELP = `
Exit codes (every command):
  0  ok: done, or every check passed
  1  failed: a check failed, or the operation was refused or did not complete (the output says why)
  2  usage: bad arguments, options or files; nothing was done
  3  not reachable: DynamoDB / EC2 / Route 53 / SNS could not be reached, or no AWS credentials

AWS region, credentials and endpoints come from the usual SDK environment (AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL_*); the local stack (npm start) prints the environment to use against it. Every AWS call is bounded
like the Lambdas' (adaptive retries, timeouts; AWS_MAX_ATTEMPTS, AWS_REQUEST_TIMEOUT_MS). --stage picks the tables
(vipswitch-<stage>-state; default VIPSWITCH_STAGE, else "local").`;

export interface ProgramOptions {
  io: Io;
  /** The repository root (for `drill`). */
  root: string;
}

/**
 * Run the CLI once: parse `argv` (the words after `vipswitch`), run the command, return its exit code. Never throws:
 * every error is one clear line on stderr (and `{ok: false, error}` on stdout under --json).
 */
export async function runCli(argv: string[], options: ProgramOptions): Promise<ExitCode> {
  const { io } = options;
  let exitCode: ExitCode = EXIT.ok;
  const json = argv.includes('--json');
  let table: string | undefined;

  /** Every command's action: a context on its stage, the command, the context closed. */
  const run = (body: (ctx: CliContext, out: Output) => Promise<ExitCode>) => async (stage: string) => {
    const ctx = createContext(stage, io.env);
    table = ctx.stage.state;
    try {
      exitCode = await body(ctx, output(io, json));
    } finally {
      ctx.close();
    }
  };

  const program = new Command('vipswitch')
    .description('vipswitch operator CLI: register clusters, watch the fleet, check before the first failover, confirm, reconcile, rotate hook keys')
    .version(CLI_VERSION, '-V, --version')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout(s), writeErr: (s) => io.stderr(s) })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText('after', EXIT_CODES_HELP);

  const stageOption = () => new Option('--stage <stage>', 'deployment stage: tables vipswitch-<stage>-state').default(io.env.VIPSWITCH_STAGE || 'local');
  const jsonOption = () => new Option('--json', 'print one JSON document on stdout instead of text');
  const command = (name: string, description: string) => program.command(name).description(description).addOption(stageOption()).addOption(jsonOption()).addHelpText('after', EXIT_CODES_HELP);

  command('apply', 'register or update a cluster and its nodes from a cluster file (re-applying keeps the fencing record and the nodes\u2019 health)')
    .requiredOption('-f, --file <path>', 'the cluster file (YAML, see local/example/cluster.yaml)')
    .action(async (opts: { file: string; stage: string }) => run((ctx, out) => applyCommand(ctx, out, opts.file))(opts.stage));

  command('status', 'without a cluster: the fleet, one line per cluster; with one: nodes, roles, health, last seen, and each endpoint target desired vs observed')
    .argument('[cluster]', 'a registered cluster')
    .option('--api <url>', 'the fleet from this status API (GET /v1/clusters, SigV4-signed; default VIPSWITCH_API_URL, the local stack on stage local, else the table)')
    .action(async (cluster: string | undefined, opts: { stage: string; api?: string }) => run((ctx, out) => (cluster === undefined ? fleetStatus(ctx, out, io, { api: opts.api }) : clusterStatus(ctx, out, io, cluster)))(opts.stage));

  command('events', "a cluster's journal (every event the API recorded, with its outcome), oldest first")
    .argument('<cluster>', 'a registered cluster')
    .option('--since <when>', 'only events since an ISO 8601 time, or since a duration ago (30m, 2h, 7d)')
    .option('--limit <n>', 'at most this many events (1..1000)', '50')
    .action(async (cluster: string, opts: { stage: string; since?: string; limit: string }) => run((ctx, out) => eventsCommand(ctx, out, io, cluster, opts))(opts.stage));

  command('confirm', 'confirm a primary the hook could not prove (unverified_claim): same fencing rule, journaled, endpoint moved and verified')
    .argument('<cluster>', 'the cluster')
    .argument('<node>', 'the node to confirm as primary')
    .requiredOption('--timeline <T>', 'the timeline the node is on (first 8 hex digits of pg_walfile_name(pg_current_wal_lsn()), as a number)')
    .requiredOption('--reason <text>', 'why (journaled)')
    .action(async (cluster: string, node: string, opts: { stage: string; timeline: string; reason: string }) => run((ctx, out) => confirmCommand(ctx, out, io, cluster, node, opts))(opts.stage));

  command('reconcile', 'converge the endpoint of one cluster (or every cluster) on its primary now, as the scheduled reconcile does')
    .argument('[cluster]', 'one cluster (default: every registered cluster)')
    .option('--dry-run', 'only plan: show what would change, change nothing', false)
    .action(async (cluster: string | undefined, opts: { stage: string; dryRun: boolean }) => run((ctx, out) => reconcileCommand(ctx, out, io, cluster, opts))(opts.stage));

  command('unfence', 'after a node isolated by the isolate fencing policy has rejoined: give its ENI back its own security groups (journaled, paged)')
    .argument('<cluster>', 'the cluster')
    .argument('<node>', 'the node to unfence')
    .requiredOption('--reason <text>', 'why (journaled and paged)')
    .action(async (cluster: string, node: string, opts: { stage: string; reason: string }) => run((ctx, out) => unfenceCommand(ctx, out, io, cluster, node, opts))(opts.stage));

  const keys = program.command('keys').description("a node's hook key: issue a new one, or rotate it with no window where the hook is refused").addHelpText('after', EXIT_CODES_HELP);
  const keyCommand = (name: string, description: string) =>
    keys
      .command(name)
      .description(description)
      .argument('<cluster>', 'the cluster')
      .argument('<node>', 'the node')
      .addOption(stageOption())
      .addOption(jsonOption())
      .option('--key-file <path>', 'where to write the new key (mode 0600; default ./<cluster>-<node>.key)')
      .option('--force', 'overwrite --key-file if it exists', false)
      .option('--endpoint <url>', 'the hook endpoint for the printed config (default VIPSWITCH_ENDPOINT, or VIPSWITCH_API + /v1/events)')
      .option('--node-key-path <path>', 'where the key file goes on the node (named in the printed config)', '/etc/vipswitch/hook.key')
      .addHelpText('after', EXIT_CODES_HELP);
  type KeyOpts = { stage: string; keyFile?: string; force: boolean; endpoint?: string; nodeKeyPath: string; finish?: boolean; cancel?: boolean };
  keyCommand('issue', 'replace the node\u2019s key at once with a new one (first install, or a leaked key: the old key is refused from now on)').action(async (cluster: string, node: string, opts: KeyOpts) =>
    run((ctx, out) => keysCommand(ctx, out, io, 'issue', cluster, node, opts))(opts.stage),
  );
  keyCommand('rotate', 'start a rotation (the current and a new key are both accepted), then --finish it (only the new key) or --cancel it')
    .addOption(new Option('--finish', 'end the rotation: only the new key is accepted from now on').conflicts('cancel'))
    .addOption(new Option('--cancel', 'end the rotation: drop the new key'))
    .action(async (cluster: string, node: string, opts: KeyOpts) => run((ctx, out) => keysCommand(ctx, out, io, opts.finish ? 'finish' : opts.cancel ? 'cancel' : 'rotate', cluster, node, opts))(opts.stage));

  command('doctor', 'pre-flight checks against the real APIs, each PASS or FAIL with its fix: run it before the first failover')
    .argument('<cluster>', 'the cluster')
    .option('--topic-arn <arn>', 'the pages topic (default VIPSWITCH_TOPIC_ARN, else vipswitch-<stage>-pages found by name)')
    .option('--hook-max-age <duration>', 'newest event of every node\u2019s hook must be younger than this (30m, 24h, 7d)', '7d')
    .action(async (cluster: string, opts: { stage: string; topicArn?: string; hookMaxAge?: string }) => run((ctx, out) => doctorCommand(ctx, out, io, cluster, opts))(opts.stage));

  program
    .command('drill')
    .description(
      'real-cluster drill on this machine: the local stack + a real repmgr, Patroni, keepalived or Pgpool-II cluster + the real hook, ' +
        'failed over while a client writes through the endpoint (from a clone). --tool repmgr|patroni|keepalived|pgpool ' +
        '[--scenario NAME] [--latency aws|instant] [--insync-ms MS] [--observe S] [--logs DIR] [--json]: see "vipswitch drill --help"',
    )
    .helpOption(false)
    .passThroughOptions()
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]', 'passed to the drill as they are')
    .action(async (args: string[]) => {
      exitCode = await drillCommand(options.root, args, io.env as NodeJS.ProcessEnv);
    });

  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return EXIT.ok;
      // No command at all: commander printed the help; that is a usage error.
      return EXIT.usage;
    }
    const failure = toCliError(error, { table, env: io.env });
    if (json) io.stdout(`${JSON.stringify({ ok: false, error: { code: failure.code, message: failure.message } }, null, 2)}\n`);
    io.stderr(`vipswitch: ${failure.message}\n`);
    return failure.exitCode;
  }
}
