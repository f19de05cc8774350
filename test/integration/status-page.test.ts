import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserServer, type Page } from 'playwright-core';
import type { LocalStack } from '../../local/stack';
import { ROOT, primaryFacts, registerCluster, repmgrArgs, routesOn, runHook, settled, startTestStack, type TestCluster } from '../support/local';

/** Test artifacts (ignored by git: .local/). */
const ARTIFACTS = join(ROOT, '.local/artifacts');

/**
 * Debian's Chromium, never a downloaded browser. Without the background-networking flags Chromium keeps trying to
 * reach Google's hosts, which a closed network refuses. Playwright gives it a fresh temporary profile
 * (--user-data-dir) and removes it on close.
 */
async function launchChromium(): Promise<BrowserServer> {
  return chromium.launchServer({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const alive = (pid: number | undefined) => {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('the status page, in a real browser (Debian chromium driven by playwright-core), on the local stack', () => {
  let stack: LocalStack;
  let server: BrowserServer;
  let browser: Browser;
  let cluster: TestCluster;
  let page: Page;

  beforeAll(async () => {
    stack = await startTestStack();
    server = await launchChromium();
    browser = await chromium.connect(server.wsEndpoint());
    await mkdir(ARTIFACTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    const pid = server?.process().pid;
    await browser?.close().catch(() => undefined);
    await server?.close().catch(() => undefined);
    // Stopped by its pid if closing did not end it.
    if (alive(pid)) process.kill(pid!, 'SIGKILL');
    await stack?.stop();
  });

  beforeEach(async () => {
    cluster = await registerCluster(stack);
    const { node1 } = cluster.nodes;
    await runHook(node1!, repmgrArgs(node1!, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)'), primaryFacts(1));
    await routesOn(stack, cluster, node1!.eni);
    await settled(stack, cluster);
    page = await browser.newPage();
  });

  afterEach(async () => {
    await page?.close();
    await cluster.cleanup();
  });

  /** Wait (bounded) until the page's own refresh shows `text` in `selector`. */
  const shows = (selector: string, text: string) =>
    page.waitForFunction(([s, t]) => (globalThis as any).document.querySelector(s)?.textContent?.includes(t) === true, [selector, text] as const, { timeout: 15_000, polling: 100 });

  it('after a failover it shows the new primary, who holds each mechanism, and the accepted claim on the timeline with commit -> moved -> verified', async () => {
    // Arrange: the page is open on node1's cluster before the failover
    const { node1, node2 } = cluster.nodes;
    const response = await page.goto(`${stack.apiUrl}/status/${cluster.name}`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'nonce-");
    expect(await page.textContent('#vs-primary')).toBe('node1');

    // Act: node2 is promoted; nothing reloads the page, its script refreshes it
    await runHook(node2!, repmgrArgs(node2!, 'standby_promote', 'server "node2" (ID: 2) was successfully promoted to primary'), primaryFacts(2));
    await routesOn(stack, cluster, node2!.eni);
    const settledStatus = await settled(stack, cluster);
    await shows('#vs-primary', 'node2');
    await shows('section.cluster', 'verified +');

    // Assert: the fencing record and the nodes
    expect(settledStatus.endpoint.phase).toBe('converged');
    expect(await page.textContent('.summary')).toContain('epoch 2 (applied 2)');
    const row = (node: string) => page.locator(`table.nodes tr[data-node="${node}"]`);
    expect(await row('node2').textContent()).toContain('primary');
    expect(await row('node2').locator('td').nth(3).textContent()).toBe('route_table');
    expect(await row('node1').locator('td').nth(3).textContent()).toBe('-');
    // Desired vs observed: every route table on node2's ENI
    const targets = page.locator('table.targets tr[data-mechanism="route_table"]');
    expect(await targets.count()).toBe(cluster.routeTableIds.length);
    for (const text of await targets.allTextContents()) expect(text).toContain(`node2 ${node2!.eni}node2 ${node2!.eni}converged`);
    // The timeline: node1's claim at epoch 1, node2's accepted claim at epoch 2, and its move
    const accepted = page.locator('svg.timeline [data-claim][data-outcome="accepted"]');
    expect(await accepted.evaluateAll((els) => els.map((e) => `${e.getAttribute('data-node')}@${e.getAttribute('data-epoch')}`))).toEqual(['node1@1', 'node2@2']);
    const move = page.locator('svg.timeline [data-move][data-node="node2"][data-epoch="2"]');
    expect(await move.count()).toBe(1);
    expect(await move.textContent()).toMatch(/^moved \+\d+ msverified \+[\d.]+ m?s$/);
    const claimRow = page.locator('table.claims tr.accepted').first();
    expect(await claimRow.textContent()).toContain('node2');
    // The fleet table refreshed too
    expect(await page.locator(`section.fleet tr[data-cluster="${cluster.name}"]`).textContent()).toContain('node2');
    expect(await page.textContent('#vs-error')).toBe('');
    await page.screenshot({ path: join(ARTIFACTS, 'status-page-failover.png'), fullPage: true });
    expect(node1).toBeDefined();
  });

  it('shows a stale claim and a fault as open pages and on the timeline, their hostile text as text (never run)', async () => {
    // Arrange: node2 takes over, then node1 comes back on its old timeline, and node3 reports a fault with markup
    const { node1, node2, node3 } = cluster.nodes;
    await runHook(node2!, repmgrArgs(node2!, 'standby_promote', 'promoted'), primaryFacts(2));
    await settled(stack, cluster);
    const hostile = '<img src=x onerror="globalThis.__pwned=1"><script>globalThis.__pwned=2</script>"\'&`';
    await runHook(node1!, repmgrArgs(node1!, 'repmgrd_start', 'monitoring cluster primary "node1" (ID: 1)'), primaryFacts(1));
    await runHook(node3!, repmgrArgs(node3!, 'repmgrd_failover_aborted', hostile), { inRecovery: true, timeline: 2, lsn: '0/3000060', systemIdentifier: primaryFacts(1).systemIdentifier });

    // Act
    await page.goto(`${stack.apiUrl}/status/${cluster.name}`);
    await shows('ul.pages', 'repmgrd_failover_aborted');

    // Assert
    const pages = await page.locator('ul.pages li').evaluateAll((els) => els.map((e) => e.getAttribute('data-page')));
    expect(pages).toEqual(expect.arrayContaining(['stale_claim', 'repmgrd_failover_aborted']));
    expect(await page.locator('svg.timeline [data-claim][data-outcome="stale_claim"][data-node="node1"]').count()).toBe(1);
    const fault = page.locator('ul.pages li[data-page="repmgrd_failover_aborted"] .reason');
    expect(await fault.textContent()).toContain(hostile);
    expect(await page.evaluate(() => (globalThis as any).__pwned)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    // After a refresh round too
    await page.evaluate(() => ((globalThis as any).document.getElementById('vs-state').textContent = ''));
    await shows('#vs-state', 'updated');
    expect(await page.evaluate(() => (globalThis as any).__pwned)).toBeUndefined();
    expect(await page.locator('main img, main script').count()).toBe(0);
    await page.screenshot({ path: join(ARTIFACTS, 'status-page-stale-claim.png'), fullPage: true });
  });

  it('GET /status is the fleet; an unknown or malformed cluster, or another method, is refused with {code, message}', async () => {
    const fleet = await page.goto(`${stack.apiUrl}/status`);
    expect(fleet?.status()).toBe(200);
    expect(await page.locator(`section.fleet tr[data-cluster="${cluster.name}"] a`).getAttribute('href')).toBe(`/status/${cluster.name}`);
    expect(await page.locator('section.cluster').count()).toBe(0);

    // A refusal is the API's {code, message}, to a browser too.
    const missing = await page.request.get(`${stack.apiUrl}/status/not-registered`);
    expect(missing.status()).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'unknown_cluster', message: expect.any(String) });

    const json = await fetch(`${stack.apiUrl}/status/not-registered`, { headers: { accept: 'application/json' } });
    expect(json.status).toBe(404);
    expect(await json.json()).toMatchObject({ code: 'unknown_cluster', message: expect.any(String) });
    const bad = await fetch(`${stack.apiUrl}/status/${encodeURIComponent('bad name!')}`, { headers: { accept: 'application/json' } });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'invalid_cluster' });
    const post = await fetch(`${stack.apiUrl}/status`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(await post.json()).toMatchObject({ code: 'method_not_allowed' });
  });
});
