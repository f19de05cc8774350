import { randomUUID } from 'node:crypto';
import { AnswerCode } from '../../shared/protocol/answers';
import { buildPing } from '../../shared/protocol/ping';
import { signedHeaders } from '../../shared/protocol/signature';
import { loadHookConfig } from './config';
import { postOnce } from './http-post';

/** Exit codes of `ping`: 0 pong, 1 refused (bad key, unknown node, skewed clock...), 2 usage or config, 3 not reachable. */
export const PING_EXIT = { ok: 0, refused: 1, usage: 2, unreachable: 3 } as const;

/** How long a ping waits for its answer at least (the config's timeoutMs when longer). */
const PING_MIN_TIMEOUT_MS = 5000;

/**
 * `vipswitch-hook ping`: one signed no-op to the configured endpoint, proving from this node that the endpoint is
 * reachable, that the key file holds the node's registered key (or its next key, during a rotation) and how far this
 * clock is off the server's. Nothing is spooled and nothing is recorded server side. Prints the round trip and the
 * server-measured skew (transit removed: half the round trip); never the key.
 */
export async function runPing(
  configPath: string | undefined,
  json: boolean,
  io: { env: Readonly<Record<string, string | undefined>>; stdout: (text: string) => void; stderr: (text: string) => void; userAgent: string },
): Promise<number> {
  let loaded;
  try {
    loaded = loadHookConfig(configPath, io.env);
  } catch (error) {
    io.stderr(`vipswitch-hook ping: ${(error as Error).message}\n`);
    return PING_EXIT.usage;
  }
  const { config, key } = loaded;
  const body = JSON.stringify(buildPing({ cluster: config.cluster, node: config.node }, randomUUID(), new Date()));
  const headers = { ...signedHeaders(config.cluster, config.node, key, body, Date.now() / 1000), 'user-agent': io.userAgent };
  const started = performance.now();
  const result = await postOnce(config.endpoint, headers, body, Math.max(config.timeoutMs, PING_MIN_TIMEOUT_MS));
  const roundTripMs = Math.round((performance.now() - started) * 10) / 10;
  const who = `${config.cluster}/${config.node}`;
  if (result.kind === 'failure') {
    if (json) io.stdout(`${JSON.stringify({ ok: false, endpoint: config.endpoint, cluster: config.cluster, node: config.node, roundTripMs, reachable: false, reason: result.reason })}\n`);
    else io.stderr(`vipswitch-hook ping: ${config.endpoint} not reachable from ${who}: ${result.reason} (after ${roundTripMs} ms)\n`);
    return PING_EXIT.unreachable;
  }
  let answer: Record<string, unknown> = {};
  try {
    answer = JSON.parse(result.body) as Record<string, unknown>;
  } catch {
    // Not JSON (a proxy's error page): reported by status below.
  }
  const pong = result.status === 200 && answer.code === AnswerCode.Pong;
  // The server measured (its clock - our sentAt), which includes the way there: take half the round trip off.
  const skewMs = pong && typeof answer.skewMs === 'number' ? Math.round(answer.skewMs - roundTripMs / 2) : null;
  if (json) {
    io.stdout(`${JSON.stringify({ ok: pong, endpoint: config.endpoint, cluster: config.cluster, node: config.node, roundTripMs, reachable: true, status: result.status, skewMs, answer })}\n`);
    return pong ? PING_EXIT.ok : PING_EXIT.refused;
  }
  if (!pong) {
    const code = typeof answer.code === 'string' ? answer.code : 'no code';
    const message = typeof answer.message === 'string' ? answer.message : result.body.slice(0, 200);
    io.stderr(`vipswitch-hook ping: refused for ${who}: HTTP ${result.status} ${code}: ${message} (round trip ${roundTripMs} ms)\n`);
    return PING_EXIT.refused;
  }
  const window = typeof answer.windowSeconds === 'number' ? answer.windowSeconds : null;
  const skewText = skewMs === null ? 'unknown' : `${(Math.abs(skewMs) / 1000).toFixed(3)} s ${skewMs >= 0 ? 'behind' : 'ahead of'} the server`;
  io.stdout(
    `pong from ${config.endpoint}: ${who}, signed with the ${String(answer.key)} key${answer.rotating === true ? ' (key rotation under way)' : ''}\n` +
      `  round trip ${roundTripMs} ms; this clock is ${skewText} (server-measured, half the round trip taken off; window ±${window ?? '?'} s)\n`,
  );
  if (skewMs !== null && window !== null && Math.abs(skewMs) > (window * 1000) / 2) {
    io.stderr(`vipswitch-hook ping: warning: the clock skew is over half the window (±${window} s): check NTP on this node\n`);
  }
  return PING_EXIT.ok;
}
