/**
 * `vipswitch-hook ping`: a signed no-op sent to `POST /v1/events`, proving from a node that the endpoint is reachable,
 * that the node's key is the one registered (or the next one, during a rotation) and how far the node's clock is off.
 * The server answers `200 {code: "pong"}` from the authentication alone: no journal entry, no state write, no replay
 * guard (a replayed ping changes nothing and tells the replayer only what it already saw). Zero dependencies: the
 * hook bundles this file.
 */

/** The ping body's `type`. An event's body never has one (its kind is `source` + `type` of the tool's event). */
export const PING_TYPE = 'ping' as const;

/** The body of a ping (version 1). Signed like an event: the headers carry cluster/node, timestamp and HMAC. */
export interface PingBody {
  v: 1;
  type: typeof PING_TYPE;
  /** Unique per ping (it is echoed back, and never stored). */
  id: string;
  cluster: string;
  node: string;
  /** The node's clock when it sent the ping, ISO 8601 with milliseconds: the server measures the skew from it. */
  sentAt: string;
}

/** Build a ping body. */
export function buildPing(who: { cluster: string; node: string }, id: string, now: Date): PingBody {
  return { v: 1, type: PING_TYPE, id, cluster: who.cluster, node: who.node, sentAt: now.toISOString() };
}

/**
 * Recognise a ping among request bodies: a JSON object with `type: "ping"` and no `source`. Returns null for anything
 * else (an event, or a body that is not JSON: those take the event path and its errors).
 */
export function pingOf(rawBody: string): Record<string, unknown> | null {
  if (!rawBody.includes('"ping"')) return null;
  try {
    const value = JSON.parse(rawBody) as unknown;
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
    const body = value as Record<string, unknown>;
    return body.type === PING_TYPE && !('source' in body) ? body : null;
  } catch {
    return null;
  }
}
