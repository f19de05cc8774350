import { InvalidRequestError } from '../domain/errors';
import type { ClusterRecord, TargetStatus } from '../ports/cluster-store';

/** The fleet index's reads the list needs (shared/adapters/dynamodb-cluster-store.ts implements them). */
export interface FleetIndex {
  /** At most `limit` clusters sorted by name after `after`, and the name to go on after when more follow. */
  listFleetPage(options: { after?: string | null; limit: number }): Promise<{ entries: Array<{ record: ClusterRecord; committedAt: string | null }>; next: string | null }>;
  /** The endpoint status of each cluster that has one. */
  loadTargetStatuses(clusters: readonly string[]): Promise<Map<string, TargetStatus>>;
  /** Journal entries flagged for a page since `since`. */
  countPagedEntries(cluster: string, since: string): Promise<number>;
}

/** One cluster in the fleet view. */
export interface ClusterSummary {
  cluster: string;
  tool: string;
  primary: string | null;
  timeline: number;
  epoch: number;
  appliedEpoch: number;
  /** The endpoint points at the current epoch's holder and was verified (status phase `converged` for this epoch). */
  converged: boolean;
  endpoint: { phase: 'converging' | 'converged' | 'failed'; since: string | null; at: string | null };
  /** When the newest claim was committed (the last failover, or the first primary); null before any. */
  lastFailover: string | null;
  /**
   * Pages raised from this cluster's events in the last 24 hours (stale or unverified claims, faults, ...). vipswitch
   * keeps no acknowledgement of pages, so "open" is read as "recent"; a move that failed shows as `converged: false`.
   */
  pages: { last24h: number };
}

export interface ClusterListPage {
  clusters: ClusterSummary[];
  /** Pass as `next` for the following page; null on the last page. */
  next: string | null;
}

export const DEFAULT_LIST_LIMIT = 50;
export const MAX_LIST_LIMIT = 100;
const PAGES_WINDOW_MS = 24 * 3600 * 1000;

/** The opaque `next` token: the last cluster of the page, base64url. */
const encodeNext = (after: string) => Buffer.from(JSON.stringify({ v: 1, after }), 'utf8').toString('base64url');

function decodeNext(token: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: unknown; after?: unknown };
    if (parsed.v === 1 && typeof parsed.after === 'string' && /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(parsed.after)) return parsed.after;
  } catch {
    // fall through: the same answer as any other bad token
  }
  throw new InvalidRequestError('invalid_next', '`next` must be the token a previous page answered with');
}

/** Where a cluster's endpoint stands, read as the status API reads it: a newer epoch than the status is converging. */
function phaseOf(epoch: number, targets: TargetStatus | undefined): ClusterSummary['endpoint'] {
  if (!targets || targets.epoch < epoch) return { phase: epoch === 0 ? 'converged' : 'converging', since: null, at: null };
  return { phase: targets.phase, since: targets.since, at: targets.at };
}

/** Check the query of `GET /v1/clusters`. @throws InvalidRequestError (400) naming the bad parameter. */
export function parseListQuery(query: Record<string, string | undefined>): { limit: number; after: string | null } {
  const limitText = query.limit ?? String(DEFAULT_LIST_LIMIT);
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || !Number.isInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) throw new InvalidRequestError('invalid_limit', `limit must be an integer 1..${MAX_LIST_LIMIT}`);
  const next = query.next;
  return { limit, after: next === undefined || next === '' ? null : decodeNext(next) };
}

/**
 * One page of the fleet, by cluster name: a Query of the fleet index, one BatchGetItem of the page's endpoint statuses,
 * and one count of recent pages per cluster (in parallel). Eventually consistent (the index lags by a fraction of a
 * second); `GET /v1/clusters/{cluster}` is the strongly consistent view of one cluster.
 */
export async function listClusterSummaries(index: FleetIndex, options: { limit: number; after: string | null }, now: Date): Promise<ClusterListPage> {
  const page = await index.listFleetPage({ after: options.after, limit: options.limit });
  const names = page.entries.map((e) => e.record.config.cluster);
  const since = new Date(now.getTime() - PAGES_WINDOW_MS).toISOString();
  const [statuses, pageCounts] = await Promise.all([names.length > 0 ? index.loadTargetStatuses(names) : new Map<string, TargetStatus>(), Promise.all(names.map((n) => index.countPagedEntries(n, since)))]);
  const clusters = page.entries.map(({ record, committedAt }, i): ClusterSummary => {
    const { state, config } = record;
    const endpoint = phaseOf(state.epoch, statuses.get(config.cluster));
    return {
      cluster: config.cluster,
      tool: config.tool,
      primary: state.primary,
      timeline: state.timeline,
      epoch: state.epoch,
      appliedEpoch: state.appliedEpoch,
      converged: endpoint.phase === 'converged',
      endpoint,
      lastFailover: committedAt,
      pages: { last24h: pageCounts[i]! },
    };
  });
  return { clusters, next: page.next === null ? null : encodeNext(page.next) };
}
