import { InvalidRequestError, NotFoundError } from '../domain/errors';
import { parseRepmgrArgv } from '../domain/repmgr-argv';
import type { VipEvent } from '../domain/event';
import type { NodeRecord } from '../domain/cluster';
import { ErrorCode } from '../protocol/answers';
import { parseVipEvent } from '../protocol/event-schema';

/**
 * Parse and check an authenticated body: valid JSON, a valid v1 event, about the node that signed it, and for repmgr
 * the `%n` in its argv is that node's registered repmgr id.
 * @throws InvalidRequestError (400), NotFoundError `node_id_mismatch` (404).
 */
export function validateEvent(rawBody: string, node: NodeRecord): VipEvent {
  let json: unknown;
  try {
    json = JSON.parse(rawBody);
  } catch (error) {
    throw new InvalidRequestError(ErrorCode.InvalidJson, 'body is not valid JSON', { cause: error });
  }
  const parsed = parseVipEvent(json);
  if (!parsed.ok) throw new InvalidRequestError(ErrorCode.InvalidEvent, `invalid event: ${parsed.issues.join('; ')}`, { details: { issues: parsed.issues } });
  const event = parsed.event;
  if (event.cluster !== node.cluster || event.node !== node.name) {
    throw new InvalidRequestError(ErrorCode.NodeMismatch, `body names ${event.cluster}/${event.node} but the request is signed as ${node.cluster}/${node.name}`);
  }
  if (event.source === 'repmgr') checkRepmgrNodeId(event, node);
  return event;
}

/** repmgr's numeric `%n` must be the node's registered repmgr id (the member name is not in repmgr's argv). */
export function checkRepmgrNodeId(event: VipEvent, node: NodeRecord): void {
  let nodeId: number;
  try {
    nodeId = parseRepmgrArgv(event.raw.argv).nodeId;
  } catch (error) {
    throw new InvalidRequestError(ErrorCode.InvalidArgv, `raw.argv is not a repmgr call: ${(error as Error).message}`, { cause: error });
  }
  if (node.repmgrNodeId !== nodeId) {
    throw new NotFoundError(ErrorCode.NodeIdMismatch, `repmgr node id ${nodeId} (%n) is not ${node.name}'s registered id ${node.repmgrNodeId ?? '(none)'}`);
  }
}
