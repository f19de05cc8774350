import type { CliContext } from '../context';
import { EXIT, FailedError, UsageError, type ExitCode } from '../errors';
import { parseSince, table } from '../format';
import type { Io, Output } from '../output';

/** Most journal entries one `events` call reads. */
const MAX_LIMIT = 1000;

/** `vipswitch events <cluster> [--since ISO|30m] [--limit N]`: the journal, oldest first. */
export async function eventsCommand(ctx: CliContext, out: Output, io: Io, cluster: string, options: { since?: string; limit: string }): Promise<ExitCode> {
  const limit = Number(options.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new UsageError(`--limit must be an integer 1..${MAX_LIMIT}, got ${JSON.stringify(options.limit)}`);
  let since: Date | null = null;
  if (options.since !== undefined) {
    since = parseSince(options.since, io.now());
    if (since === null) throw new UsageError(`--since takes an ISO 8601 time (2026-11-22T02:00:00Z) or a duration back from now (30m, 2h, 7d), got ${JSON.stringify(options.since)}`);
  }
  if ((await ctx.store.getCluster(cluster)) === null) throw new FailedError('unknown_cluster', `cluster ${cluster} is not registered in ${ctx.stage.state}`);
  const read = await ctx.store.readJournal(cluster, since === null ? limit : MAX_LIMIT);
  const kept = (since === null ? read : read.filter((e) => Date.parse(e.receivedAt) >= since!.getTime())).slice(0, limit).reverse();
  const truncated = since !== null && read.length === MAX_LIMIT && kept.length === read.length;
  out.result({ ok: true, cluster, since: since?.toISOString() ?? null, events: kept.map(({ event, ...entry }) => ({ ...entry, source: event?.source, facts: event?.facts ?? null })) });
  if (kept.length === 0) {
    out.line(`no events for ${cluster}${since ? ` since ${since.toISOString()}` : ''}`);
    return EXIT.ok;
  }
  out.line(table(['Received', 'Node', 'Type', 'Outcome', 'Epoch', 'Reason'], kept.map((e) => [e.receivedAt, e.node, e.type, e.outcome, e.epoch, e.reason])));
  if (truncated || (since === null && read.length === limit)) out.note(`(showing ${kept.length}; older events may exist: raise --limit${since ? ' or narrow --since' : ''})`);
  return EXIT.ok;
}
