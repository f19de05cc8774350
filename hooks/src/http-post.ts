import http from 'node:http';
import https from 'node:https';

/** An HTTP answer (any status), or a failure to get one (network error, timeout). */
export type PostResult =
  | { kind: 'answer'; status: number; body: string; retryAfterMs: number | null }
  | { kind: 'failure'; reason: string };

/** Answers are small JSON documents; anything beyond this is cut (it only goes to a log and `answered/`). */
const MAX_ANSWER_BYTES = 16 * 1024;

/**
 * POST `body` once, with node:http / node:https (no `fetch`: it is experimental on Node 18), without keep-alive.
 * `timeoutMs` bounds the whole exchange, DNS and connect included. Never throws or rejects.
 */
export function postOnce(endpoint: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<PostResult> {
  return new Promise((resolve) => {
    let settled = false;
    let timer: NodeJS.Timeout | undefined;
    const finish = (result: PostResult): void => {
      if (settled) return;
      settled = true;
      if (timer) clearTimeout(timer);
      resolve(result);
    };
    let request: http.ClientRequest;
    try {
      const url = new URL(endpoint);
      const transport = url.protocol === 'https:' ? https : http;
      request = transport.request(
        url,
        { method: 'POST', agent: false, headers: { ...headers, accept: 'application/json', 'content-length': String(Buffer.byteLength(body)) } },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            if (size >= MAX_ANSWER_BYTES) return;
            chunks.push(chunk);
            size += chunk.length;
          });
          response.on('end', () =>
            finish({
              kind: 'answer',
              status: response.statusCode ?? 0,
              body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8'),
              retryAfterMs: parseRetryAfter(response.headers['retry-after']),
            }),
          );
          response.on('error', (error) => finish({ kind: 'failure', reason: describeNetworkError(error) }));
          response.on('close', () => finish({ kind: 'failure', reason: 'connection closed before the answer was complete' }));
        },
      );
    } catch (error) {
      finish({ kind: 'failure', reason: describeNetworkError(error) });
      return;
    }
    timer = setTimeout(() => {
      finish({ kind: 'failure', reason: `timeout after ${Math.round(timeoutMs)} ms` });
      request.destroy();
    }, Math.max(1, timeoutMs));
    request.on('error', (error) => finish({ kind: 'failure', reason: describeNetworkError(error) }));
    request.end(body);
  });
}

/** `Retry-After` in seconds (the HTTP-date form is not used by the API) as ms; null when absent or unreadable. */
export function parseRetryAfter(value: string | string[] | undefined): number | null {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,6}$/.test(text.trim())) return null;
  return Number(text.trim()) * 1000;
}

function describeNetworkError(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return code ? `network error ${code}` : `network error: ${(error as Error | undefined)?.message ?? String(error)}`;
}
