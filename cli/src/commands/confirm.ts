import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { createEndpointActuator } from '../../../shared/adapters/endpoint-actuators';
import { confirmPrimary } from '../../../shared/app/confirm-primary';
import type { CliContext } from '../context';
import { EXIT, UsageError, type ExitCode } from '../errors';
import type { Io, Output } from '../output';

/**
 * `vipswitch confirm <cluster> <node> --timeline T --reason TEXT`: confirm a primary the hook could not prove
 * (`unverified_claim`). Same fencing rule and conditional write as a hook's claim, journaled as `operator_confirmed`,
 * then the endpoint is moved and verified here (shared/app/confirm-primary.ts), with the Lambdas' client bounds.
 */
export async function confirmCommand(ctx: CliContext, out: Output, io: Io, cluster: string, node: string, options: { timeline: string; reason: string }): Promise<ExitCode> {
  const timeline = Number(options.timeline);
  if (!Number.isInteger(timeline) || timeline < 1) throw new UsageError(`--timeline must be the timeline the node is on (an integer >= 1, from pg_walfile_name), got ${JSON.stringify(options.timeline)}`);
  if (options.reason.trim() === '') throw new UsageError('--reason must say why (it is journaled)');
  const operator = io.env.SUDO_USER ?? userInfo().username;
  const actuator = createEndpointActuator({ ec2: ctx.ec2(), route53: ctx.route53() });
  const result = await confirmPrimary({ store: ctx.store, actuator, now: () => io.now() }, { cluster, node, timeline, operator, reason: options.reason, id: `operator-${randomUUID()}` });
  if (!result.ok) {
    out.result({ ok: false, cluster, node, refused: result.reason });
    if (!out.json) io.stderr(`vipswitch confirm: refused: ${result.reason}\n`);
    return EXIT.failed;
  }
  const converged = result.result.converged;
  out.result({ ok: converged, cluster, node, timeline, epoch: result.epoch, converged, actions: result.result.actions });
  out.line(`confirmed ${node} as primary of ${cluster} on timeline ${timeline} (epoch ${result.epoch}); endpoint ${converged ? 'moved and verified' : 'NOT fully moved'}:`);
  for (const a of result.result.actions) out.line(`  ${a.mechanism} ${a.target}: ${a.result}${a.error ? ` (${a.error.code})` : ''}`);
  return converged ? EXIT.ok : EXIT.failed;
}
