import { runInNewContext } from 'node:vm';
import { clusterView, esc, renderCluster, renderFleet, statusPageDocument, statusPagePolicy, type ClusterStatus, type FleetRow } from '../../shared/app/status-page';

const T0 = Date.parse('2026-11-22T02:30:00.000Z');
const iso = (ms: number) => new Date(T0 + ms).toISOString();
const HOSTILE = `<img src=x onerror="alert(1)"><script>alert(2)</script>'"&\``;

/** node2 took over at epoch 2 (commit at +0), its two route tables and its Route 53 record converged at +1.2 s. */
function failedOver(overrides: Partial<ClusterStatus> = {}): ClusterStatus {
  return {
    cluster: { cluster: 'pg-main', tool: 'repmgr', fencing: 'alert', dryRun: false },
    state: { primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 2, systemIdentifier: '7431525978089455740' },
    nodes: [
      { name: 'node1', eni: 'eni-1', privateIp: '10.0.1.11', instanceId: 'i-1', fenced: false, health: 'failed' },
      { name: 'node2', eni: 'eni-2', privateIp: '10.0.1.12', instanceId: 'i-2', fenced: false, health: 'primary' },
      { name: 'node3', eni: 'eni-3', privateIp: '10.0.1.13', instanceId: 'i-3', fenced: true, health: 'replica' },
    ],
    endpoint: {
      epoch: 2,
      phase: 'converged',
      since: iso(40),
      at: iso(1200),
      targets: [
        { mechanism: 'route_table', target: 'rtb-1 10.0.255.10/32', desired: 'eni-2', observed: 'eni-2', state: 'converged', result: 'moved', ms: 150, verified: true },
        { mechanism: 'route_table', target: 'rtb-2 10.0.255.10/32', desired: 'eni-2', observed: 'eni-2', state: 'converged', result: 'moved', ms: 230, verified: true },
        { mechanism: 'route53_writer', target: 'Z1 writer.db. A', desired: '10.0.1.12', observed: '10.0.1.12', state: 'converged', result: 'moved', ms: 1150, verified: true },
        { mechanism: 'route53_reader', target: 'Z1 reader.db. A', desired: '10.0.1.13', observed: '10.0.1.13', state: 'converged', result: 'in_place', ms: 1150 },
      ],
    },
    journal: [
      { eventId: 'e3', receivedAt: iso(5000), node: 'node1', type: 'repmgrd_start', outcome: 'stale_claim', reason: 'node1 claims primary on timeline 1', epoch: 2, page: true, details: { claimedTimeline: 1 }, source: 'repmgr', eventDetails: HOSTILE },
      { eventId: 'e2', receivedAt: iso(0), node: 'node2', type: 'standby_promote', outcome: 'accepted', reason: 'node2 on timeline 2 supersedes node1', epoch: 2, source: 'repmgr', facts: { timeline: 2 } },
      { eventId: 'e1', receivedAt: iso(-60_000), node: 'node1', type: 'repmgrd_start', outcome: 'accepted', reason: 'first primary', epoch: 1, source: 'repmgr', facts: { timeline: 1 } },
      { eventId: 'e0', receivedAt: iso(-900_000), node: 'node3', type: 'standby_failure', outcome: 'ignored', reason: 'fault, long ago', epoch: 1, page: true, source: 'repmgr' },
    ],
    ...overrides,
  };
}

describe('clusterView', () => {
  it('names who holds each mechanism, desired vs observed, from the ENIs and private IPs', () => {
    const view = clusterView(failedOver(), T0 + 6000, 300);
    expect(view.targets.map((t) => [t.mechanism, t.desiredNode, t.observedNode])).toEqual([
      ['route_table', 'node2', 'node2'],
      ['route_table', 'node2', 'node2'],
      ['route53_writer', 'node2', 'node2'],
      ['route53_reader', 'node3', 'node3'],
    ]);
    expect(view.nodes.map((n) => [n.name, n.role, n.holds.join('+'), n.fenced])).toEqual([
      ['node1', 'standby', '', false],
      ['node2', 'primary', 'route_table+route53_writer', false],
      ['node3', 'standby', 'reader', true],
    ]);
    expect(view.nodes.find((n) => n.name === 'node1')?.lastSeen).toBe(T0 + 5000);
  });

  it('times the current epoch: commit -> first target moved (pass start + quickest change) -> verified (at)', () => {
    // The pass ran from at - 1150 ms (= +50); the quickest changed target took 150 ms: moved at +200.
    const view = clusterView(failedOver(), T0 + 6000, 300);
    expect(view.claims.map((c) => [c.node, c.outcome, c.epoch, c.timeline, c.movedAt === null ? null : c.movedAt - c.at, c.verifiedAt === null ? null : c.verifiedAt - c.at])).toEqual([
      ['node1', 'accepted', 1, 1, null, null],
      ['node2', 'accepted', 2, 2, 200, 1200],
      ['node1', 'stale_claim', 2, 1, null, null],
    ]);
  });

  it('open pages: journal pages inside the de-duplication window, and a failed move until it converges', () => {
    const failed = failedOver({ endpoint: { ...failedOver().endpoint, phase: 'failed', targets: [{ mechanism: 'route_table', target: 'rtb-1 10.0.255.10/32', desired: 'eni-2', observed: 'eni-1', state: 'failed', result: 'failed', error: { code: 'UnauthorizedOperation', message: 'no' } }] } });
    const open = clusterView(failed, T0 + 6000, 300).openPages;
    expect(open.map((p) => [p.type, p.severity, p.node])).toEqual([
      ['actuation_failed', 'critical', 'node2'],
      ['stale_claim', 'critical', 'node1'],
    ]);
    expect(open[0]!.text).toContain('rtb-1 10.0.255.10/32: UnauthorizedOperation');
    expect(open[1]!.text).toContain(HOSTILE);
    // Typed as the pages are: an operator's failed unfence is critical.
    const unfence = failedOver({ journal: [{ eventId: 'u1', receivedAt: iso(5500), node: 'node1', type: 'unisolate_eni', outcome: 'fencing_action', reason: 'could not restore', epoch: 2, page: true, details: { result: 'failed' } }] });
    expect(clusterView(unfence, T0 + 6000, 300).openPages.map((p) => [p.type, p.severity])).toEqual([['unfence_failed', 'critical']]);
    // Past the window the stale claim is no longer open; a converged endpoint has no actuation page.
    expect(clusterView(failedOver(), T0 + 5000 + 301_000, 300).openPages).toEqual([]);
  });
});

describe('rendering hostile data', () => {
  it('esc leaves no markup-significant character', () => {
    expect(esc(HOSTILE)).not.toMatch(/[<>"'`]/);
    expect(esc(null)).toBe('');
  });

  it('every string of the data is escaped: event text, reasons, names, targets, errors', () => {
    // Arrange: hostile text in every string field the page shows
    const status = failedOver();
    status.cluster.cluster = HOSTILE;
    status.cluster.tool = HOSTILE;
    status.state.systemIdentifier = HOSTILE;
    status.nodes[0]!.name = HOSTILE;
    status.nodes[0]!.eni = HOSTILE;
    status.endpoint.targets[0]!.target = HOSTILE;
    status.endpoint.targets[0]!.error = { code: HOSTILE, message: HOSTILE };
    status.journal = status.journal.map((e) => ({ ...e, node: HOSTILE, reason: HOSTILE, type: HOSTILE, outcome: e.outcome }));
    const fleet: FleetRow[] = [{ cluster: HOSTILE, tool: HOSTILE, primary: HOSTILE, timeline: 2, epoch: 2, appliedEpoch: 2, converged: true, endpoint: { phase: HOSTILE as never, since: null, at: null }, lastFailover: HOSTILE, pages: { last24h: 1 } }];

    // Act
    const html = renderFleet(fleet, false, null, '') + renderCluster(clusterView(status, T0 + 6000, 300));

    // Assert: the only tags are the page's own
    expect(html).not.toContain('<img');
    expect(html).not.toContain('<script');
    expect(html).not.toContain('onerror="');
    expect(html).toContain('&#60;img src=x onerror=&#34;alert(1)&#34;&#62;');
  });

  it('numbers that are not numbers are shown as "-", never as the text they carry', () => {
    const status = failedOver();
    (status.state as { epoch: unknown }).epoch = '<b>7</b>';
    expect(renderCluster(clusterView(status, T0, 300))).not.toContain('<b>7</b>');
  });
});

describe('statusPageDocument', () => {
  const fleet: FleetRow[] = [{ cluster: 'pg-main', tool: 'repmgr', primary: 'node2', timeline: 2, epoch: 2, appliedEpoch: 2, converged: true, endpoint: { phase: 'converged', since: null, at: null }, lastFailover: iso(0), pages: { last24h: 1 } }];
  const page = (now = new Date(T0 + 6000)) => statusPageDocument({ base: '/prod', fleet, more: false, cluster: failedOver(), now, pageWindowSeconds: 300, refreshMs: 2000, nonce: 'bm9uY2U=' });

  it('is one self-contained document: inline style and one nonce script, nothing fetched from elsewhere', () => {
    const html = page();
    expect(html).not.toMatch(/<(link|img|iframe)\b/i);
    expect(html).not.toMatch(/src=["']?https?:/i);
    expect(html.match(/<script\b/g)).toHaveLength(1);
    expect(html).toContain('<script nonce="bm9uY2U=">');
    expect(statusPagePolicy('bm9uY2U=')).toContain("script-src 'nonce-bm9uY2U='");
    expect(statusPagePolicy('bm9uY2U=')).toContain("connect-src 'self'");
  });

  it("its script stands alone and renders what the server rendered, from the JSON API's bodies", async () => {
    // Arrange: the script run in an empty context (no module, no require), with a fake browser around it
    const html = page(new Date());
    const script = /<script nonce="[^"]*">([\s\S]*?)<\/script>/.exec(html)![1]!;
    const elements: Record<string, { innerHTML: string; textContent: string }> = { 'vs-main': { innerHTML: '', textContent: '' }, 'vs-state': { innerHTML: '', textContent: '' }, 'vs-error': { innerHTML: '', textContent: '' } };
    const fetched: string[] = [];
    const timers: Array<() => void> = [];
    const status = failedOver();
    const sandbox = {
      document: { getElementById: (id: string) => elements[id] ?? null },
      fetch: async (url: string) => {
        fetched.push(url);
        const body = url.startsWith('/prod/v1/clusters?') ? { code: 'ok', message: '1 cluster(s)', clusters: fleet, next: null } : { code: 'ok', message: 'pg-main', ...status };
        return { ok: true, status: 200, json: async () => body };
      },
      setTimeout: (f: () => void) => void timers.push(f),
    };

    // Act: load the script, then run its first refresh round
    runInNewContext(script, sandbox);
    timers.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));

    // Assert
    expect(fetched.sort()).toEqual(['/prod/v1/clusters/pg-main?journal=100', '/prod/v1/clusters?limit=100']);
    expect(elements['vs-error']!.textContent).toBe('');
    expect(elements['vs-state']!.textContent).toMatch(/^updated \d\d:\d\d:\d\d\.\d{3} UTC$/);
    const expected = renderFleet(fleet, false, 'pg-main', '/prod') + renderCluster(clusterView(status, Date.now(), 300));
    // Same render but for times relative to now (open pages): compare without the pages list.
    const strip = (s: string) => s.replace(/<ul class="pages">[\s\S]*?<\/ul>|<p class="muted">None open[^<]*<\/p>/, '');
    expect(strip(elements['vs-main']!.innerHTML)).toBe(strip(expected));
    expect(timers).toHaveLength(1);
  });

  it('a failed refresh is shown, and the next round is scheduled', async () => {
    const script = /<script nonce="[^"]*">([\s\S]*?)<\/script>/.exec(page())![1]!;
    const elements: Record<string, { innerHTML: string; textContent: string }> = { 'vs-main': { innerHTML: 'kept', textContent: '' }, 'vs-state': { innerHTML: '', textContent: '' }, 'vs-error': { innerHTML: '', textContent: '' } };
    const timers: Array<() => void> = [];
    runInNewContext(script, {
      document: { getElementById: (id: string) => elements[id] ?? null },
      fetch: async () => ({ ok: false, status: 403, json: async () => ({ code: 'forbidden', message: '<b>denied</b>' }) }),
      setTimeout: (f: () => void) => void timers.push(f),
    });
    timers.shift()!();
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(elements['vs-error']!.textContent).toContain('forbidden <b>denied</b>');
    expect(elements['vs-main']!.innerHTML).toBe('kept');
    expect(timers).toHaveLength(1);
  });
});
