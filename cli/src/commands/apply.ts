import { applyClusterFile } from '../../../shared/app/apply-cluster-file';
import type { CliContext } from '../context';
import { EXIT, UsageError, type ExitCode } from '../errors';
import type { Output } from '../output';
import { existsSync } from 'node:fs';

/** `vipswitch apply -f cluster.yaml`: register or update a cluster and its nodes; re-applying keeps the fencing record. */
export async function applyCommand(ctx: CliContext, out: Output, file: string): Promise<ExitCode> {
  if (!existsSync(file)) throw new UsageError(`-f ${file}: no such file`);
  const result = await applyClusterFile(ctx.store, file);
  out.line(`${result.created ? 'created' : 'updated'} cluster ${result.cluster} with nodes ${result.nodes.join(', ')} (table ${ctx.stage.state})`);
  out.result({ ok: true, ...result, table: ctx.stage.state });
  return EXIT.ok;
}
