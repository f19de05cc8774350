import { Agent, createServer, request as upstreamRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The local API's edge: a thin pass-through in front of serverless-offline, so that every answer of the local API
 * carries the contract's `{code, message}` (DESIGN.md, "Wire contract"), also the ones no vipswitch code makes.
 *
 * Unknown paths and methods do not need it: serverless-offline routes them to the `$default` route (functions/not-found).
 * What it covers is what Node's HTTP server and serverless-offline's hapi refuse BEFORE any route: a path that is not
 * valid percent-encoding, a malformed cookie, a body over hapi's 10 MB, headers over Node's 16 KB, a request line Node
 * cannot parse. Those keep their status; their body becomes `{code, message}`. Everything else passes through untouched
 * (status, headers, body). In AWS the same requests are refused by API Gateway itself with its own
 * `{"message": ...}` body, which an HTTP API cannot customize (README, "Contract changes").
 */
export interface ApiEdge {
  url: string;
  /** How many answers the edge rewrote (a non-contract body from hapi / Node), for tests. */
  rewritten(): number;
  stop(): Promise<void>;
}

/** `code` for a refusal made before any route, by status. */
const EDGE_CODES: Record<number, string> = {
  400: 'malformed_request',
  404: 'not_found',
  405: 'method_not_allowed',
  408: 'request_timeout',
  413: 'payload_too_large',
  414: 'uri_too_long',
  415: 'unsupported_media_type',
  431: 'headers_too_large',
  500: 'internal_error',
  502: 'bad_gateway',
  503: 'unavailable',
  504: 'gateway_timeout',
};

function edgeBody(status: number, reason: string): Buffer {
  const code = EDGE_CODES[status] ?? (status >= 500 ? 'internal_error' : 'request_refused');
  // Printable and bounded: a hostile request's bytes never travel back verbatim.
  const shown = reason.replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
  return Buffer.from(JSON.stringify({ code, message: `refused before any route (${status}): ${shown}` }));
}

/** True when the body is a JSON object with string `code` and `message`: an answer of the contract. */
function isContractBody(body: Buffer): boolean {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { code?: unknown; message?: unknown } | null;
    return parsed !== null && typeof parsed === 'object' && typeof parsed.code === 'string' && typeof parsed.message === 'string';
  } catch {
    return false;
  }
}

/** hapi's own error body is `{statusCode, error, message}`; keep its words for the contract's message. */
function reasonOf(body: Buffer, fallback: string): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown; message?: unknown };
    const words = [parsed.error, parsed.message].filter((w): w is string => typeof w === 'string');
    return words.length > 0 ? [...new Set(words)].join(': ') : fallback;
  } catch {
    return fallback;
  }
}

// Hop-by-hop headers are the connection's, not the message's (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer']);

function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())));
}

/** Start the edge on 127.0.0.1:`port`, forwarding to `upstreamPort` (serverless-offline). */
export async function startApiEdge(options: { port: number; upstreamPort: number }): Promise<ApiEdge> {
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  let rewrites = 0;
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    const upstream = upstreamRequest(
      { host: '127.0.0.1', port: options.upstreamPort, method: req.method, path: req.url, headers: endToEnd(req.headers), agent },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => chunks.push(chunk));
        answer.on('error', () => res.destroy());
        answer.on('end', () => {
          const status = answer.statusCode ?? 502;
          let body: Buffer = Buffer.concat(chunks);
          const headers = endToEnd(answer.headers);
          if (status >= 400 && req.method !== 'HEAD' && !isContractBody(body)) {
            rewrites += 1;
            body = edgeBody(status, reasonOf(body, answer.statusMessage ?? 'refused'));
            headers['content-type'] = 'application/json';
          }
          headers['content-length'] = String(req.method === 'HEAD' ? Number(answer.headers['content-length'] ?? 0) : body.length);
          res.writeHead(status, headers);
          res.end(req.method === 'HEAD' ? undefined : body);
        });
      },
    );
    upstream.on('error', (error) => {
      if (res.headersSent) return void res.destroy();
      rewrites += 1;
      const body = edgeBody(502, `the API host is not answering (${(error as NodeJS.ErrnoException).code ?? error.message})`);
      res.writeHead(502, { 'content-type': 'application/json', 'content-length': String(body.length) });
      res.end(body);
    });
    req.on('error', () => upstream.destroy());
    req.pipe(upstream);
  });

  // What Node's parser refuses never reaches a handler: answer it in the contract's shape, then close.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || error.code === 'ECONNRESET') return void socket.destroy();
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    rewrites += 1;
    const body = edgeBody(status, error.code ?? 'malformed request');
    socket.end(`HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.toString('utf8')}`);
  });
  // CONNECT (a tunnel request) never reaches a route: without a listener Node would drop the connection unanswered.
  server.on('connect', (_req, socket: Socket) => {
    rewrites += 1;
    const body = edgeBody(405, 'CONNECT is not a method of this API');
    socket.end(`HTTP/1.1 405 Method Not Allowed\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body.toString('utf8')}`);
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });

  return {
    url: `http://127.0.0.1:${options.port}`,
    rewritten: () => rewrites,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      agent.destroy();
      await closed;
    },
  };
}
