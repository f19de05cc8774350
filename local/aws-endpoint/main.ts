/**
 * Run the local AWS endpoint from a shell:
 *
 *   npx tsx local/aws-endpoint/main.ts --port 4566 --topology local/topology.example.json [--latency instant|aws]
 *     [--seed N] [--insync-after-ms 100] [--instance-transition-ms 0] [--quiet]
 *
 * `--latency` defaults to `VIPSWITCH_LATENCY` (else `instant`); `VIPSWITCH_R53_INSYNC_MS` and
 * `VIPSWITCH_DESCRIBE_LAG_MS` override the profile's figures, and `--insync-after-ms` overrides both.
 * Prints the URL on the first line of stdout (for scripts to read), then one line per AWS call unless --quiet.
 * Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { type AwsEndpoint, LATENCY_PROFILES, latencyProfileFromEnv, loadTopologyFile, startAwsEndpoint } from './index';

function nonNegativeInt(name: string, text: string | undefined, fallback: number): number;
function nonNegativeInt(name: string, text: string | undefined): number | undefined;
function nonNegativeInt(name: string, text: string | undefined, fallback?: number): number | undefined {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new Error(`--${name} must be a non-negative integer, got "${text}"`);
  return Number(text);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '4566' },
      topology: { type: 'string', default: 'local/topology.example.json' },
      latency: { type: 'string' },
      seed: { type: 'string' },
      'insync-after-ms': { type: 'string' },
      'instance-transition-ms': { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.latency !== undefined && !Object.hasOwn(LATENCY_PROFILES, values.latency)) {
    throw new Error(`--latency must be one of ${Object.keys(LATENCY_PROFILES).join(', ')}, got "${values.latency}"`);
  }
  // The flag names the profile; the environment's overrides still apply to it.
  const latency = latencyProfileFromEnv(values.latency === undefined ? process.env : { ...process.env, VIPSWITCH_LATENCY: values.latency });
  // Handlers first, so a signal during start-up also ends the process cleanly.
  let endpoint: AwsEndpoint | undefined;
  const stop = (): void => {
    void (endpoint?.close() ?? Promise.resolve()).then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const topology = await loadTopologyFile(values.topology);
  endpoint = await startAwsEndpoint({
    port: nonNegativeInt('port', values.port, 4566),
    topology,
    latency,
    seed: nonNegativeInt('seed', values.seed),
    // Only when given: otherwise the latency profile decides how long a change stays PENDING.
    route53InsyncAfterMs: nonNegativeInt('insync-after-ms', values['insync-after-ms']),
    instanceTransitionMs: nonNegativeInt('instance-transition-ms', values['instance-transition-ms'], 0),
    log: values.quiet ? undefined : (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  process.stdout.write(`${endpoint.url}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`aws-endpoint: ${(err as Error).message}\n`);
  process.exit(1);
});
