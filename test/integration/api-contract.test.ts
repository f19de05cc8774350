import { request } from 'node:http';
import { connect } from 'node:net';
import { type LocalStack } from '../../local/stack';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { API_ROUTES, routeMiss } from '../../shared/protocol/routes';
import { registerCluster, ROOT, startTestStack, type TestCluster } from '../support/local';

/** One raw HTTP exchange (node:http, so any method and any path bytes go out as written). */
function exchange(url: string, method: string, path: string, options: { headers?: Record<string, string>; body?: Buffer | string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, method, path, headers: options.headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Bytes straight on the socket: for what no HTTP client would send (Node's parser refuses it before any route). */
function rawExchange(url: string, text: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), body });
    });
    socket.end(text, 'latin1');
  });
}

const contractBody = (body: string) => {
  const parsed = JSON.parse(body) as Record<string, unknown>;
  expect(typeof parsed.code).toBe('string');
  expect(typeof parsed.message).toBe('string');
  return parsed as { code: string; message: string };
};

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'PROPFIND', 'TRACE'] as const;

describe('API_ROUTES', () => {
  it('holds every httpApi route serverless.yml declares (a new route must be known to the $default route)', () => {
    const yml = readFileSync(join(ROOT, 'serverless.yml'), 'utf8');
    const declared = [...yml.matchAll(/- httpApi:\s*\n\s*method: (\w+)\s*\n\s*path: (\S+)/g)].map(([, method, path]) => `${method} ${path}`);
    expect(declared.length).toBeGreaterThanOrEqual(2);
    expect(API_ROUTES.map((r) => `${r.method} ${r.path}`)).toEqual(expect.arrayContaining(declared));
  });
});

describe('routeMiss (the $default route)', () => {
  it.each([
    ['GET', '/v1/events', 405, 'POST'],
    ['DELETE', '/v1/clusters/pg-main', 405, 'GET'],
    ['get', '/v1/clusters/pg-main', 404, undefined],
    ['GET', '/', 404, undefined],
    ['POST', '/v1/clusters/pg-main/nodes', 404, undefined],
    ['GET', '/v1/events/extra', 404, undefined],
  ] as const)('%s %s → %i', (method, path, status, allow) => {
    const miss = routeMiss(method, path);
    expect(miss.status).toBe(status);
    expect(miss.code).toBe(status === 405 ? 'method_not_allowed' : 'not_found');
    expect(miss.allow).toBe(allow);
  });

  it('never echoes control bytes or an unbounded path', () => {
    const miss = routeMiss('GET', `/\u0000\u001b[31m${'x'.repeat(5000)}`);
    expect(miss.message).not.toMatch(/[\u0000-\u001f]/);
    expect(miss.message.length).toBeLessThan(300);
  });
});

describe('every method on every path answers {code, message} (local stack)', () => {
  let stack: LocalStack;
  let cluster: TestCluster;

  beforeAll(async () => {
    stack = await startTestStack();
    cluster = await registerCluster(stack);
  }, 120_000);

  afterAll(async () => {
    await cluster?.cleanup();
    await stack?.stop();
  });

  // Known paths (each route's own and the other's methods), near misses and unknown ones.
  const paths = () => [
    ['/v1/events', 'events'],
    [`/v1/clusters/${cluster.name}`, 'status (registered)'],
    ['/v1/clusters/not-registered', 'status (unknown cluster)'],
    ['/', 'root'],
    ['/v1', 'prefix'],
    ['/v1/clusters', 'collection'],
    ['/v1/clusters/', 'empty cluster'],
    [`/v1/clusters/${cluster.name}/nodes`, 'below a cluster'],
    ['/v1/events/x', 'below events'],
    ['/v2/events', 'another version'],
    ['/V1/EVENTS', 'case'],
    ['/v1/clusters/%2e%2e/%2e%2e', 'dot segments'],
    ['/v1/clusters/a%00b', 'NUL'],
    ['/v1/clusters/%ff%fe', 'not UTF-8'],
    ['/v1/clusters/%zz', 'bad escape'],
    ['/v1/events?x=1&x=2', 'query'],
    [`/${'a'.repeat(4000)}`, 'long path'],
  ] as const;

  it('every method × path: a 4xx (or the route\'s own answer) with {code, message}, never a 5xx', async () => {
    const seen: { method: string; path: string; status: number; code: string }[] = [];
    for (const [path] of paths()) {
      for (const method of METHODS) {
        const answer = await exchange(stack.apiUrl, method, path);
        const body = contractBody(answer.body);
        seen.push({ method, path: path.slice(0, 40), status: answer.status, code: body.code });
        expect(answer.status).toBeGreaterThanOrEqual(200);
        expect(answer.status).toBeLessThan(500);
      }
    }
    // The routes answer themselves; the rest is the $default route's 404 / 405.
    const on = (method: string, path: string) => seen.find((s) => s.method === method && s.path === path.slice(0, 40))!;
    expect(on('POST', '/v1/events')).toMatchObject({ status: 400, code: 'empty_body' });
    expect(on('GET', `/v1/clusters/${cluster.name}`)).toMatchObject({ status: 200, code: 'ok' });
    expect(on('GET', '/v1/clusters/not-registered')).toMatchObject({ status: 404, code: 'unknown_cluster' });
    for (const method of METHODS.filter((m) => m !== 'POST')) expect(on(method, '/v1/events')).toMatchObject({ status: 405, code: 'method_not_allowed' });
    for (const method of METHODS.filter((m) => m !== 'GET')) expect(on(method, `/v1/clusters/${cluster.name}`)).toMatchObject({ status: 405, code: 'method_not_allowed' });
    for (const method of METHODS) {
      expect(on(method, '/')).toMatchObject({ status: 404, code: 'not_found' });
      expect(on(method, `/v1/clusters/${cluster.name}/nodes`)).toMatchObject({ status: 404, code: 'not_found' });
      expect(on(method, '/v2/events')).toMatchObject({ status: 404, code: 'not_found' });
    }
  }, 60_000);

  it('405 names the allowed method in an allow header', async () => {
    const answer = await exchange(stack.apiUrl, 'GET', '/v1/events');
    expect(answer.headers.allow).toBe('POST');
    expect(contractBody(answer.body).message).toContain('POST');
  });

  it('HEAD carries no body by definition: its status is the GET route\'s or the $default route\'s', async () => {
    expect((await exchange(stack.apiUrl, 'HEAD', '/nope')).status).toBe(404);
    expect((await exchange(stack.apiUrl, 'HEAD', '/v1/events')).status).toBe(405);
    expect((await exchange(stack.apiUrl, 'HEAD', '/v1/clusters/not-registered')).status).toBe(404);
  });

  it('what the host refuses before any route still answers {code, message}: a body over 10 MB, headers over 16 KB, a broken request line; a bad cookie reaches the route (as in API Gateway)', async () => {
    const cookie = await exchange(stack.apiUrl, 'POST', '/v1/events', { headers: { cookie: 'a="b; ;=x', 'content-type': 'application/json' }, body: '{}' });
    expect(cookie.status).toBe(401);
    expect(contractBody(cookie.body).code).toBe('missing_signature');

    const huge = await exchange(stack.apiUrl, 'POST', '/v1/events', { headers: { 'content-type': 'application/json' }, body: Buffer.alloc(11 * 1024 * 1024, 0x20) });
    expect(huge.status).toBe(413);
    expect(contractBody(huge.body).code).toBe('payload_too_large');

    const headers = await rawExchange(stack.apiUrl, `GET /v1/clusters/x HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    expect(headers.status).toBe(431);
    expect(contractBody(headers.body).code).toBe('headers_too_large');

    const broken = await rawExchange(stack.apiUrl, 'GET /v1/clusters/x HTTP/9.9 junk\r\n\r\n');
    expect(broken.status).toBe(400);
    contractBody(broken.body);
  }, 30_000);
});
