import { randomUUID } from 'node:crypto';
import { userInfo } from 'node:os';
import { Ec2EniIsolator } from '../../../shared/adapters/ec2-eni-isolator';
import { unfenceNode } from '../../../shared/app/unfence-node';
import type { CliContext } from '../context';
import { EXIT, UsageError, type ExitCode } from '../errors';
import type { Io, Output } from '../output';

/**
 * `vipswitch unfence <cluster> <node> --reason TEXT`: after a node isolated by the `isolate` fencing policy has rejoined
 * as a standby, give its ENI back the security groups recorded in its tags (shared/app/unfence-node.ts). Journaled and
 * paged; an ENI with no record is left alone (exit 0, "not isolated").
 */
export async function unfenceCommand(ctx: CliContext, out: Output, io: Io, cluster: string, node: string, options: { reason: string }): Promise<ExitCode> {
  if (options.reason.trim() === '') throw new UsageError('--reason must say why (it is journaled and paged)');
  const operator = io.env.SUDO_USER ?? userInfo().username;
  const result = await unfenceNode(
    { store: ctx.store, isolator: new Ec2EniIsolator({ client: ctx.ec2() }), now: () => io.now() },
    { cluster, node, operator, reason: options.reason, id: `operator-unfence-${randomUUID()}` },
  );
  if (!result.ok) {
    out.result({ ok: false, cluster, node, eni: result.eni, refused: result.reason });
    if (!out.json) io.stderr(`vipswitch unfence: ${result.reason}\n`);
    return EXIT.failed;
  }
  const { outcome } = result;
  out.result({ ok: true, cluster, node, eni: result.eni, result: outcome.result, from: outcome.from, groups: outcome.groups });
  out.line(
    outcome.result === 'restored'
      ? `unfenced ${node} of ${cluster}: ${result.eni} security groups ${outcome.from.join(', ')} -> ${outcome.groups.join(', ')} (journaled, paged)`
      : `${node} of ${cluster}: ${result.eni} was not isolated (no vipswitch:original-groups tag); nothing changed (journaled)`,
  );
  return EXIT.ok;
}
