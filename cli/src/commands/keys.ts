import { unlink, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { changeHookKey, hookConfigFor, newHookKey, type KeyOperation } from '../../../shared/app/keys';
import type { CliContext } from '../context';
import { EXIT, FailedError, UsageError, type ExitCode } from '../errors';
import type { Io, Output } from '../output';

export interface KeysOptions {
  keyFile?: string;
  force: boolean;
  endpoint?: string;
  nodeKeyPath: string;
}

/** Where the hook's endpoint is, for the printed config: --endpoint, else VIPSWITCH_ENDPOINT, else the API URL + /v1/events. */
function endpointFor(options: KeysOptions, io: Io): string {
  if (options.endpoint) return options.endpoint;
  if (io.env.VIPSWITCH_ENDPOINT) return io.env.VIPSWITCH_ENDPOINT;
  if (io.env.VIPSWITCH_API) return `${io.env.VIPSWITCH_API.replace(/\/$/, '')}/v1/events`;
  return 'https://<api-id>.execute-api.<region>.amazonaws.com/v1/events';
}

/**
 * `vipswitch keys issue|rotate <cluster> <node>`. A new key is written to a local file (mode 0600, never over an
 * existing file unless --force) and stored; it is printed nowhere, logged nowhere. The hook config to install is
 * printed (it names the key file on the node, not the key).
 *   issue:              the new key replaces the node's key at once (first install, or a leaked key);
 *   rotate:             the new key becomes valid BESIDE the current one: the hook is never refused while it is installed;
 *   rotate --finish:    the new key becomes the only one (the old one is refused from now on);
 *   rotate --cancel:    the new key is dropped.
 */
export async function keysCommand(ctx: CliContext, out: Output, io: Io, operation: KeyOperation, cluster: string, node: string, options: KeysOptions): Promise<ExitCode> {
  const who = `${cluster}/${node}`;
  if (operation === 'finish' || operation === 'cancel') {
    const outcome = await changeHookKey(ctx.store, cluster, node, operation);
    if (!outcome.ok) throw new FailedError(outcome.reason, outcome.message);
    out.result({ ok: true, cluster, node, state: outcome.state });
    out.line(operation === 'finish' ? `key rotation of ${who} finished: only the new key is accepted from now on` : `key rotation of ${who} cancelled: only the old key is accepted`);
    return EXIT.ok;
  }
  if ((await ctx.store.getNode(cluster, node)) === null) throw new FailedError('unknown_node', `node ${node} is not registered in cluster ${cluster} (${ctx.stage.state})`);
  const keyFile = resolve(options.keyFile ?? `${cluster}-${node}.key`);
  const key = newHookKey();
  try {
    await writeFile(keyFile, `${key}\n`, { mode: 0o600, flag: options.force ? 'w' : 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UsageError(`${keyFile} exists: name another file with --key-file, or overwrite it with --force`);
    throw new UsageError(`cannot write the key file ${keyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let outcome;
  try {
    outcome = await changeHookKey(ctx.store, cluster, node, operation, key);
  } catch (error) {
    await unlink(keyFile).catch(() => undefined);
    throw error;
  }
  if (!outcome.ok) {
    await unlink(keyFile).catch(() => undefined);
    throw new FailedError(outcome.reason, outcome.message);
  }
  const hookConfig = hookConfigFor({ endpoint: endpointFor(options, io), cluster, node, keyFile: options.nodeKeyPath });
  out.result({ ok: true, cluster, node, state: outcome.state, keyFile, hookConfig });
  if (operation === 'issue') {
    out.line(`new key of ${who} issued: it replaced the old key, which is refused from now on`);
  } else {
    out.line(`key rotation of ${who} started: the current AND the new key are accepted until you finish it`);
  }
  out.line(`  the new key is in ${keyFile} (mode 0600); it is printed nowhere else`);
  out.line(`  1. copy it to ${node} as ${options.nodeKeyPath} (owner: the user running the hook, mode 0600)`);
  out.line(`  2. on ${node}: vipswitch-hook ping${operation === 'rotate' ? '   (answers "signed with the next key")' : ''}`);
  if (operation === 'rotate') out.line(`  3. vipswitch keys rotate --finish ${cluster} ${node}   (the old key is refused from then on; --cancel drops the new one)`);
  out.line(`  point nodes[].keyFile in your cluster.yaml at the new key, or a later "vipswitch apply" puts the old one back`);
  out.line(`hook config for ${node} (/etc/vipswitch/hook.json):`);
  out.line(JSON.stringify(hookConfig, null, 2));
  return EXIT.ok;
}
