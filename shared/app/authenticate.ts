import { createHash } from 'node:crypto';
import { AuthenticationError, InvalidRequestError, NotFoundError, PayloadTooLargeError } from '../domain/errors';
import { HEADER, verifySignature } from '../protocol/signature';
import type { ClusterStore, LoadedCluster, NodeWithKey } from '../ports/cluster-store';

export interface AuthenticatedRequest {
  /** The cluster as read for this request (one Query): passed down, never read again. */
  loaded: LoadedCluster;
  node: NodeWithKey;
  rawBody: string;
  /**
   * The replay guard for this signature, written by the event's transaction (not here: one round trip fewer). The same
   * signed request twice is then refused as `replayed_request`.
   */
  replay: { digest: string; expiresAt: number };
  /** Which of the node's keys signed it: `next` only while a rotation is under way (`vipswitch keys rotate`). */
  keyUsed: 'current' | 'next';
  /** Server clock minus the request's timestamp, seconds (what the window was checked against). */
  skewSeconds: number;
}

/**
 * Decode the body exactly as sent (the signature covers these bytes) and enforce the size limit. API Gateway always
 * hands over a string; a JSON scalar body (`0`, `false`) may arrive parsed from a local host (serverless-offline), and
 * is read back as the text it was, never a 500.
 */
export function rawBodyOf(body: string | number | boolean | null | undefined, isBase64Encoded: boolean | undefined, maxBytes: number): string {
  if (body === undefined || body === null || body === '') throw new InvalidRequestError('empty_body', 'request body is empty');
  const text = typeof body === 'string' ? body : String(body);
  const bytes = isBase64Encoded ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  if (bytes.length > maxBytes) throw new PayloadTooLargeError(maxBytes);
  return bytes.toString('utf8');
}

/**
 * Check who sent a request: the node header names a registered node, the timestamp is within the cluster's replay
 * window and the HMAC over `timestamp.body` matches (constant time) the node's key, or during a rotation its next key. One read: the cluster's partition. Replays are
 * refused when the event is recorded (see {@link AuthenticatedRequest.replay}).
 * @throws NotFoundError (unknown cluster/node), AuthenticationError (signature, skew), InvalidRequestError.
 */
export async function authenticate(
  store: ClusterStore,
  headers: Record<string, string | undefined>,
  rawBody: string,
  nowSeconds: number,
): Promise<AuthenticatedRequest> {
  const who = headers[HEADER.node];
  const timestamp = headers[HEADER.timestamp];
  const signature = headers[HEADER.signature];
  if (!who || !timestamp || !signature) {
    throw new AuthenticationError('missing_signature', `headers ${HEADER.node}, ${HEADER.timestamp} and ${HEADER.signature} are required`);
  }
  // Names as the cluster file allows them (cluster-config): nothing else can be registered, so nothing else is read
  // (an 8 KB name would otherwise reach DynamoDB, whose partition keys stop at 2048 bytes).
  const match = /^([A-Za-z0-9][A-Za-z0-9_.-]{0,62})\/([A-Za-z0-9][A-Za-z0-9_.-]{0,62})$/.exec(who);
  if (!match) throw new InvalidRequestError('invalid_node_header', `${HEADER.node} must be "<cluster>/<node>" (letters, digits, "_", "." or "-", at most 63 each)`);
  const [, clusterId = '', nodeName = ''] = match;
  if (!/^\d{1,12}$/.test(timestamp)) throw new AuthenticationError('invalid_timestamp', `${HEADER.timestamp} must be unix seconds`);
  const loaded = await store.loadCluster(clusterId);
  if (loaded === null) throw new NotFoundError('unknown_cluster', `cluster ${clusterId} is not registered`);
  const node = loaded.nodes.find((n) => n.name === nodeName);
  if (node === undefined) throw new NotFoundError('unknown_node', `node ${nodeName} is not registered in cluster ${clusterId}`);
  const window = loaded.record.config.replayWindowSeconds;
  const skew = nowSeconds - Number(timestamp);
  if (Math.abs(skew) > window) {
    throw new AuthenticationError('timestamp_out_of_window', `timestamp is ${Math.round(skew)} s off the server clock; the window is ±${window} s (check NTP on the node)`);
  }
  // During a key rotation both keys are valid. Both are always checked (each in constant time), so the answer's timing
  // tells nothing about which key, if any, came close.
  const current = verifySignature(node.hookKey, timestamp, rawBody, signature);
  const next = typeof node.hookKeyNext === 'string' && node.hookKeyNext.length > 0 ? verifySignature(node.hookKeyNext, timestamp, rawBody, signature) : false;
  if (!current && !next) {
    throw new AuthenticationError('bad_signature', 'signature does not match (wrong key for this node, or the body was altered)');
  }
  const digest = createHash('sha256').update(signature).digest('hex');
  return { loaded, node, rawBody, replay: { digest, expiresAt: Number(timestamp) + window + 1 }, keyUsed: current ? 'current' : 'next', skewSeconds: skew };
}
