/**
 * The baseline: what the keepalived / repmgr shell scripts that vipswitch replaces do on a promotion, with Debian's
 * `/usr/bin/aws` against the same local endpoint. Per route table, sequentially:
 *   aws ec2 create-route --route-table-id T --destination-cidr-block VIP/32 --network-interface-id ENI \
 *     || aws ec2 replace-route --route-table-id T --destination-cidr-block VIP/32 --network-interface-id ENI
 * (replace only when create failed with RouteAlreadyExists). The script is synchronous: its caller is blocked until
 * the last command exits. The move is also observed in the endpoint's state, on every event-loop turn.
 */
import { access } from 'node:fs/promises';
import type { CallRecord } from '../../local/aws-endpoint/index';
import type { LocalStack } from '../../local/stack';
import { isoSinceOrigin, nextTurn, origin, runTimed, sinceOrigin, type Origin, type TimedRun } from './timing';

export const AWS_CLI = '/usr/bin/aws';

export interface BaselineSample {
  eni: string;
  /** Script start → last command exited: what the caller waits for. */
  blockedMs: number;
  /** Script start → the VIP route points at `eni` in every table (endpoint state). */
  movedMs: number;
  /** aws CLI processes run (2 per table when the route exists). */
  commands: number;
  /** Per aws CLI process: start → its request arrives, the call's duration, answer → process exit. */
  perCommand: { startToRequest: number; callMs: number; answerToExit: number }[];
}

export async function checkAwsCli(): Promise<void> {
  try {
    await access(AWS_CLI);
  } catch {
    throw new Error(`${AWS_CLI} is missing: the baseline needs Debian's awscli (sudo apt-get install -y awscli)`);
  }
}

/** The CLI's environment: local credentials, no pager, no instance metadata, no user profile files. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of Object.keys(env)) if (key.startsWith('AWS_')) delete env[key];
  return {
    ...env,
    AWS_ACCESS_KEY_ID: 'AKIALOCAL',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  };
}

/** The shell script, step by step: create-route, and replace-route when the route already exists. */
async function script(o: Origin, stack: LocalStack, vip: string, tables: readonly string[], eni: string, runs: TimedRun[]): Promise<void> {
  const env = cliEnv();
  for (const table of tables) {
    const args = (verb: string) => ['--endpoint-url', stack.aws.url, 'ec2', verb, '--route-table-id', table, '--destination-cidr-block', `${vip}/32`, '--network-interface-id', eni];
    const created = await runTimed(o, AWS_CLI, args('create-route'), env);
    runs.push(created);
    if (created.code === 0) continue;
    if (!created.stderr.includes('RouteAlreadyExists')) throw new Error(`aws ec2 create-route failed (${created.code}): ${created.stderr.trim()}`);
    const replaced = await runTimed(o, AWS_CLI, args('replace-route'), env);
    runs.push(replaced);
    if (replaced.code !== 0) throw new Error(`aws ec2 replace-route failed (${replaced.code}): ${replaced.stderr.trim()}`);
  }
}

/** One baseline promotion: run the script while watching the endpoint's state on every event-loop turn. */
export async function baselineMove(stack: LocalStack, vip: string, tables: readonly string[], eni: string): Promise<BaselineSample> {
  const seq0 = stack.aws.calls().at(-1)?.seq ?? 0;
  const runs: TimedRun[] = [];
  const o = origin();
  const outcome: { doneMs?: number; error?: unknown } = {};
  script(o, stack, vip, tables, eni, runs).then(
    () => (outcome.doneMs = sinceOrigin(o, performance.now())),
    (e: unknown) => (outcome.error = e ?? new Error('script failed')),
  );
  let movedMs = Number.NaN;
  for (;;) {
    if (Number.isNaN(movedMs)) {
      const targets = stack.aws.state().routeTables.filter((t) => tables.includes(t.routeTableId)).map((t) => t.routes.find((r) => r.destinationCidrBlock === `${vip}/32`)?.networkInterfaceId);
      if (targets.length === tables.length && targets.every((t) => t === eni)) movedMs = sinceOrigin(o, performance.now());
    }
    if (outcome.error !== undefined) throw outcome.error;
    if (outcome.doneMs !== undefined) break;
    await nextTurn();
  }
  if (Number.isNaN(movedMs)) throw new Error(`the baseline script finished but the routes for ${vip} do not point at ${eni}`);
  // One EC2 call per CLI process (no retries on these answers), in the order the processes ran.
  const calls: CallRecord[] = stack.aws.calls().filter((c) => c.seq > seq0 && c.service === 'ec2' && (c.action === 'CreateRoute' || c.action === 'ReplaceRoute'));
  const perCommand = runs.map((run, i) => {
    const call = calls[i];
    const arrival = call ? isoSinceOrigin(o, call.at) : Number.NaN;
    const callMs = call?.ms ?? Number.NaN;
    return { startToRequest: arrival - run.startMs, callMs, answerToExit: run.exitMs - (arrival + callMs) };
  });
  return { eni, blockedMs: outcome.doneMs!, movedMs, commands: runs.length, perCommand };
}
