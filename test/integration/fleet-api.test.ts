import type { LocalStack } from '../../local/stack';
import { makeEvent, post, primaryFacts, registerCluster, settled, startTestStack, type TestCluster } from '../support/local';

/** `GET /v1/clusters` on the local API. */
async function list(stack: LocalStack, query = ''): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${stack.apiUrl}/v1/clusters${query}`);
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

describe('GET /v1/clusters (the fleet view) on the local stack', () => {
  let stack: LocalStack;
  const clusters: TestCluster[] = [];

  beforeAll(async () => {
    stack = await startTestStack();
    for (let i = 0; i < 5; i++) clusters.push(await registerCluster(stack));
    // The first one fails over to node2; the second gets a stale claim (paged).
    const [a, b] = clusters;
    expect((await post(stack, a!, a!.nodes.node2!, JSON.stringify(makeEvent(a!, a!.nodes.node2!, 'standby_promote', primaryFacts(2))))).status).toBe(202);
    expect((await post(stack, b!, b!.nodes.node1!, JSON.stringify(makeEvent(b!, b!.nodes.node1!, 'repmgrd_start', primaryFacts(3))))).status).toBe(202);
    expect((await post(stack, b!, b!.nodes.node3!, JSON.stringify(makeEvent(b!, b!.nodes.node3!, 'repmgrd_start', primaryFacts(2))))).body.code).toBe('stale_claim');
    await settled(stack, a!);
    await settled(stack, b!);
  }, 180_000);

  afterAll(async () => {
    for (const c of clusters) await c.cleanup();
    await stack?.stop();
  });

  it('pages through every cluster in name order, `next` null on the last page', async () => {
    const seen: string[] = [];
    let next: string | null = null;
    let pages = 0;
    do {
      const answer: { status: number; body: Record<string, any> } = await list(stack, `?limit=2${next ? `&next=${encodeURIComponent(next)}` : ''}`);
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ code: 'ok', message: expect.any(String) });
      expect(answer.body.clusters.length).toBeLessThanOrEqual(2);
      seen.push(...answer.body.clusters.map((c: { cluster: string }) => c.cluster));
      next = answer.body.next;
      pages++;
    } while (next !== null);

    const names = clusters.map((c) => c.name).sort();
    expect(seen).toEqual(names);
    expect(pages).toBe(3);
  });

  it('summarises each cluster: primary, timeline, epoch, convergence, last failover, recent pages; never a key', async () => {
    const [a, b, c] = clusters;

    const { body } = await list(stack, '?limit=100');
    const byName = new Map(body.clusters.map((s: { cluster: string }) => [s.cluster, s]));

    expect(byName.get(a!.name)).toEqual({
      cluster: a!.name,
      tool: 'repmgr',
      primary: 'node2',
      timeline: 2,
      epoch: 1,
      appliedEpoch: 1,
      converged: true,
      endpoint: { phase: 'converged', since: expect.any(String), at: expect.any(String) },
      lastFailover: expect.any(String),
      pages: { last24h: 0 },
    });
    expect(byName.get(b!.name)).toMatchObject({ primary: 'node1', timeline: 3, epoch: 1, converged: true, pages: { last24h: 1 } });
    expect(byName.get(c!.name)).toMatchObject({ primary: null, epoch: 0, appliedEpoch: 0, converged: true, endpoint: { phase: 'converged', since: null, at: null }, lastFailover: null, pages: { last24h: 0 } });
    expect(JSON.stringify(body)).not.toMatch(/hookKey|[0-9a-f]{64}/);
  });

  it.each([
    ['?limit=0', 'invalid_limit'],
    ['?limit=101', 'invalid_limit'],
    ['?limit=ten', 'invalid_limit'],
    ['?next=not-a-token', 'invalid_next'],
    [`?next=${Buffer.from(JSON.stringify({ v: 1, after: '../x' })).toString('base64url')}`, 'invalid_next'],
  ])('%s is a 400 with {code, message}', async (query, code) => {
    const answer = await list(stack, query);

    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ code, message: expect.any(String) });
  });

  it('answers other methods on the path with 405 {code, message}', async () => {
    const response = await fetch(`${stack.apiUrl}/v1/clusters`, { method: 'DELETE' });

    expect(response.status).toBe(405);
    expect(await response.json()).toMatchObject({ code: 'method_not_allowed', message: expect.any(String) });
  });
});
