import { InvalidRequestError } from '../domain/errors';
import { AnswerCode, DecisionWord, ErrorCode, type PongAnswer } from '../protocol/answers';
import type { AuthenticatedRequest } from './authenticate';

const ID = /^[A-Za-z0-9_.:-]{8,128}$/;

/**
 * Answer an authenticated ping (shared/protocol/ping.ts). Pure: no read beyond the authentication's, and NO write —
 * no journal entry, no health, no replay guard, no event id. The replay guard is skipped on purpose: a ping changes
 * nothing, so a replayed one can only earn its sender the same pong again (and still only within the signature's
 * timestamp window). The ping is therefore never shown in the journal; `vipswitch doctor` tells "heard from" by events.
 * @throws InvalidRequestError when the ping's body is malformed or names another node than its signed header.
 */
export function answerPing(auth: AuthenticatedRequest, body: Record<string, unknown>, now: Date): { status: 200; body: PongAnswer } {
  const problems: string[] = [];
  if (body.v !== 1) problems.push('v: must be 1');
  if (typeof body.id !== 'string' || !ID.test(body.id)) problems.push('id: 8 to 128 letters, digits, "_", ".", ":" or "-"');
  const sentAtMs = typeof body.sentAt === 'string' ? Date.parse(body.sentAt) : Number.NaN;
  if (Number.isNaN(sentAtMs)) problems.push('sentAt: an ISO 8601 time');
  const extra = Object.keys(body).filter((k) => !['v', 'type', 'id', 'cluster', 'node', 'sentAt'].includes(k));
  if (extra.length > 0) problems.push(`${extra.join(', ')}: unknown field`);
  if (problems.length > 0) throw new InvalidRequestError(ErrorCode.InvalidEvent, `invalid ping: ${problems.join('; ')}`);
  const cluster = auth.loaded.record.config.cluster;
  if (body.cluster !== cluster || body.node !== auth.node.name) {
    throw new InvalidRequestError(ErrorCode.NodeMismatch, `the ping names ${String(body.cluster)}/${String(body.node)} but is signed as ${cluster}/${auth.node.name}`);
  }
  const skewMs = now.getTime() - sentAtMs;
  const rotating = typeof auth.node.hookKeyNext === 'string' && auth.node.hookKeyNext.length > 0;
  const windowSeconds = auth.loaded.record.config.replayWindowSeconds;
  return {
    status: 200,
    body: {
      code: AnswerCode.Pong,
      decision: DecisionWord.Ignored,
      message: `pong: signed with the ${auth.keyUsed} key of ${cluster}/${auth.node.name}${rotating ? ' (key rotation under way)' : ''}; the node's clock is ${(Math.abs(skewMs) / 1000).toFixed(3)} s ${skewMs >= 0 ? 'behind' : 'ahead of'} the server's, transit included (window ±${windowSeconds} s); nothing recorded`,
      id: body.id as string,
      cluster,
      node: auth.node.name,
      key: auth.keyUsed,
      rotating,
      serverTime: now.toISOString(),
      skewMs,
      skewSeconds: Math.round(auth.skewSeconds * 1000) / 1000,
      windowSeconds,
    },
  };
}
