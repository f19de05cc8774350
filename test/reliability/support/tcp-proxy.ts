/**
 * A loopback TCP proxy in front of the API that a test takes down and brings back (as test/integration/
 * failover-flow.test.ts does), with two more ways to fail: `blackhole` (connections are accepted, requests read, and
 * nothing is ever answered) and `swallow` (requests reach the API, its answers never come back). On one fixed port.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export type ProxyMode = 'up' | 'down' | 'blackhole' | 'swallow';

export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  mode(): ProxyMode;
  set(mode: ProxyMode): Promise<void>;
  /** Connections accepted so far, and request bytes read in `blackhole` / `swallow` mode. */
  stats(): { accepted: number; heldBytes: number };
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  let server: Server | null = null;
  let current: ProxyMode = 'down';
  const sockets = new Set<Socket>();
  const stats = { accepted: 0, heldBytes: 0 };
  const probe = createServer();
  const port = await new Promise<number>((resolve) => probe.listen(0, '127.0.0.1', () => resolve((probe.address() as { port: number }).port)));
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const track = (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
  };
  const handle = (client: Socket) => {
    stats.accepted++;
    track(client);
    if (current === 'blackhole') {
      client.on('data', (chunk: Buffer) => (stats.heldBytes += chunk.length));
      return;
    }
    const upstream = connect(target.port, target.host);
    track(upstream);
    const close = () => (client.destroy(), upstream.destroy());
    client.on('close', close);
    upstream.on('close', close);
    if (current === 'swallow') {
      client.on('data', (chunk: Buffer) => ((stats.heldBytes += chunk.length), upstream.write(chunk)));
      upstream.resume();
      return;
    }
    client.pipe(upstream).pipe(client);
  };
  const stop = async () => {
    const s = server;
    server = null;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };
  const set = async (mode: ProxyMode) => {
    await stop();
    current = mode;
    if (mode === 'down') return;
    const s = createServer(handle);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    server = s;
  };
  await set('up');
  return { port, url: `http://127.0.0.1:${port}`, mode: () => current, set, stats: () => ({ ...stats }), close: stop };
}
