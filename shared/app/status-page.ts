/**
 * The status page (`GET /status`, `GET /status/{cluster}`): one self-contained HTML document (inline CSS and script, no
 * CDN, no build step) showing the fleet and one cluster: its nodes and who holds each endpoint mechanism (desired vs
 * observed), the fencing record, the open pages, and a failover timeline drawn from the journal.
 *
 * The same functions render the page on the server (first paint) and in the browser (every refresh, from the JSON API
 * `GET /v1/clusters` and `GET /v1/clusters/{cluster}`): the ones listed in {@link BROWSER_FUNCTIONS} are shipped to the
 * browser as their own source text, so they are written to stand alone: plain functions that use only their arguments,
 * each other and the language's built-ins (no import, no module constant). Every string that comes from data goes
 * through `esc` (event text, reasons and names are hostile input); numbers go through `num`.
 */

import { NotFoundError } from '../domain/errors';
import type { ClusterStore, JournalEntry, LoadedCluster } from '../ports/cluster-store';
import { listClusterSummaries, type ClusterSummary, type FleetIndex } from './cluster-list';
import { endpointView } from './endpoint-view';

/** One endpoint target as `GET /v1/clusters/{cluster}` answers it. */
export interface StatusTarget {
  mechanism: string;
  target: string;
  desired: string | null;
  observed: string | null;
  state: string;
  result: string;
  ms?: number;
  verified?: boolean;
  error?: { code: string; message: string };
}

/** One journal entry as `GET /v1/clusters/{cluster}` answers it. */
export interface StatusJournalEntry {
  eventId: string;
  receivedAt: string;
  node: string;
  type: string;
  outcome: string;
  reason: string;
  epoch: number | null;
  page?: boolean;
  fence?: boolean;
  details?: Record<string, unknown>;
  source?: string;
  facts?: { timeline?: number | null } | null;
  /** What the tool itself said (repmgr's `%d`, ...): hostile text. */
  eventDetails?: string;
}

/** The body of `GET /v1/clusters/{cluster}`, as far as the page reads it. */
export interface ClusterStatus {
  cluster: { cluster: string; tool: string; fencing: string; dryRun: boolean };
  state: { primary: string | null; timeline: number; epoch: number; appliedEpoch: number; systemIdentifier: string | null; updatedAt?: string };
  nodes: Array<{ name: string; eni: string; privateIp: string | null; instanceId: string | null; fenced: boolean; health?: string }>;
  endpoint: { epoch: number; phase: string; since: string | null; at: string | null; targets: StatusTarget[] };
  journal: StatusJournalEntry[];
}

/** One row of the fleet (`GET /v1/clusters`). */
export type FleetRow = Pick<ClusterSummary, 'cluster' | 'tool' | 'primary' | 'timeline' | 'epoch' | 'appliedEpoch' | 'converged' | 'endpoint' | 'lastFailover' | 'pages'>;

/** A claim on the failover timeline. Times are ms since the Unix epoch. */
export interface TimelineClaim {
  at: number;
  node: string;
  outcome: string;
  epoch: number | null;
  timeline: number | null;
  reason: string;
  /** The current epoch's accepted claim only: when its first target moved, and when every target was verified. */
  movedAt: number | null;
  verifiedAt: number | null;
}

/** A page still open: raised inside the de-duplication window (or, for a failed move, until the endpoint converges). */
export interface OpenPage {
  type: string;
  severity: 'critical' | 'warning';
  node: string | null;
  at: number | null;
  text: string;
}

/** Everything the cluster panel shows, derived from one status body. */
export interface ClusterView {
  cluster: string;
  tool: string;
  dryRun: boolean;
  primary: string | null;
  timeline: number;
  epoch: number;
  appliedEpoch: number;
  systemIdentifier: string | null;
  fencingPolicy: string;
  endpoint: { epoch: number; phase: string; since: string | null; at: string | null };
  nodes: Array<{ name: string; health: string; role: string; fenced: boolean; holds: string[]; lastSeen: number | null; eni: string; privateIp: string | null; instanceId: string | null }>;
  targets: Array<StatusTarget & { desiredNode: string; observedNode: string }>;
  fencingActions: Array<{ at: number; node: string; type: string; reason: string }>;
  openPages: OpenPage[];
  claims: TimelineClaim[];
  pageWindowSeconds: number;
}

// ---- shipped to the browser: keep each function self-contained (see the module comment) ---------------------------

/** HTML-escape any value for text and attribute positions. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`]/g, (c) => '&#' + c.charCodeAt(0) + ';');
}

/** A number for the page, or '-' when it is not one (never a string from the data). */
export function num(value: unknown): string {
  const n = Number(value);
  return value === null || value === undefined || value === '' || !Number.isFinite(n) ? '-' : String(n);
}

/** UTC time of day with milliseconds, e.g. `02:30:01.412`; '-' when unknown. */
export function clock(ms: number | null): string {
  return ms === null || !Number.isFinite(ms) ? '-' : new Date(ms).toISOString().slice(11, 23);
}

/** A duration for people: `412 ms`, `3.2 s`, `4 min 05 s`. */
export function span(ms: number): string {
  if (ms < 1000) return Math.round(ms) + ' ms';
  if (ms < 60000) return (ms / 1000).toFixed(1) + ' s';
  const s = Math.round(ms / 1000);
  return Math.floor(s / 60) + ' min ' + String(s % 60).padStart(2, '0') + ' s';
}

/**
 * What the cluster panel shows, from `GET /v1/clusters/{cluster}`. Open pages: journal entries flagged for a page and
 * received inside the page de-duplication window (`pageWindowSeconds`, the alerter's: within it a repeat would not page
 * again, so the page is still the live one), and a failed endpoint move until it converges.
 */
export function clusterView(status: ClusterStatus, nowMs: number, pageWindowSeconds: number): ClusterView {
  const byAddress: Record<string, string> = {};
  for (const n of status.nodes) {
    byAddress[n.eni] = n.name;
    if (n.privateIp) byAddress[n.privateIp] = n.name;
  }
  const nodeOf = (value: string | null) => {
    if (value === null || value === undefined || value === '') return '-';
    return String(value)
      .split(',')
      .map((v) => byAddress[v] ?? '?')
      .join(', ');
  };
  const targets = status.endpoint.targets.map((t) => ({ ...t, desiredNode: nodeOf(t.desired), observedNode: nodeOf(t.observed) }));
  const journal = [...status.journal].sort((a, b) => Date.parse(a.receivedAt) - Date.parse(b.receivedAt));
  const lastSeen: Record<string, number> = {};
  for (const e of journal) lastSeen[e.node] = Date.parse(e.receivedAt);
  const nodes = status.nodes.map((n) => {
    const holds = targets.filter((t) => t.observed !== null && String(t.observed).split(',').some((v) => v === n.eni || v === n.privateIp)).map((t) => (t.mechanism === 'route53_reader' ? 'reader' : t.mechanism));
    return {
      name: n.name,
      health: n.health ?? 'unknown',
      role: status.state.primary === n.name ? 'primary' : 'standby',
      fenced: n.fenced === true,
      holds: [...new Set(holds)],
      lastSeen: lastSeen[n.name] ?? null,
      eni: n.eni,
      privateIp: n.privateIp,
      instanceId: n.instanceId,
    };
  });

  const critical = ['stale_claim', 'unverified_claim', 'system_identifier_mismatch', 'repmgrd_failover_aborted', 'repmgrd_promote_error', 'actuation_failed', 'unfence_failed'];
  const openPages: OpenPage[] = [];
  for (const e of journal) {
    const at = Date.parse(e.receivedAt);
    if (e.page !== true || !(nowMs - at <= pageWindowSeconds * 1000)) continue;
    // The page's type, as shared/app/pages.ts names it.
    const type =
      e.details && e.details.kind === 'role_disagreement'
        ? 'role_disagreement'
        : e.outcome === 'ignored'
          ? e.type
          : e.outcome === 'fencing_action'
            ? e.type === 'unisolate_eni'
              ? e.details && e.details.result === 'failed'
                ? 'unfence_failed'
                : 'unfenced'
              : e.type
            : e.outcome;
    openPages.push({ type, severity: critical.includes(type) ? 'critical' : 'warning', node: e.node, at, text: e.reason + (e.eventDetails ? ' - ' + e.source + ' said: ' + e.eventDetails : '') });
  }
  if (status.endpoint.phase === 'failed') {
    const failed = targets.filter((t) => t.state === 'failed');
    const text = failed.map((t) => t.target + ': ' + (t.error ? t.error.code : 'failed')).join('; ');
    openPages.push({ type: 'actuation_failed', severity: 'critical', node: status.state.primary, at: status.endpoint.at === null ? null : Date.parse(status.endpoint.at), text: 'endpoint not on the epoch ' + status.endpoint.epoch + ' primary: ' + text });
  }
  openPages.reverse();

  // The current epoch's move: its pass started when its slowest target began (`at` less that target's ms), and the
  // endpoint first pointed at the new primary when the quickest changed target was done (moved and read back).
  let movedAt: number | null = null;
  let verifiedAt: number | null = null;
  const ep = status.endpoint;
  if (ep.at !== null && ep.epoch === status.state.epoch && (ep.phase === 'converged' || ep.phase === 'failed')) {
    const atMs = Date.parse(ep.at);
    const changed = ep.targets.filter((t) => (t.result === 'moved' || t.result === 'created') && typeof t.ms === 'number').map((t) => t.ms as number);
    if (changed.length > 0) movedAt = atMs - Math.max(...ep.targets.map((t) => (typeof t.ms === 'number' ? t.ms : 0))) + Math.min(...changed);
    if (ep.phase === 'converged') verifiedAt = atMs;
  }
  const claimOutcomes = ['accepted', 'stale_claim', 'unverified_claim', 'system_identifier_mismatch', 'operator_confirmed'];
  const claims: TimelineClaim[] = journal
    .filter((e) => claimOutcomes.includes(e.outcome))
    .map((e) => {
      const current = e.outcome === 'accepted' && e.epoch === ep.epoch;
      const claimed = e.details && typeof e.details.claimedTimeline === 'number' ? e.details.claimedTimeline : e.facts && typeof e.facts.timeline === 'number' ? e.facts.timeline : null;
      return { at: Date.parse(e.receivedAt), node: e.node, outcome: e.outcome, epoch: e.epoch, timeline: claimed, reason: e.reason, movedAt: current ? movedAt : null, verifiedAt: current ? verifiedAt : null };
    });
  const fencingActions = journal
    .filter((e) => e.outcome === 'fencing_action')
    .reverse()
    .slice(0, 5)
    .map((e) => ({ at: Date.parse(e.receivedAt), node: e.node, type: e.type, reason: e.reason }));

  return {
    cluster: status.cluster.cluster,
    tool: status.cluster.tool,
    dryRun: status.cluster.dryRun === true,
    primary: status.state.primary,
    timeline: status.state.timeline,
    epoch: status.state.epoch,
    appliedEpoch: status.state.appliedEpoch,
    systemIdentifier: status.state.systemIdentifier,
    fencingPolicy: status.cluster.fencing,
    endpoint: { epoch: ep.epoch, phase: ep.phase, since: ep.since, at: ep.at },
    nodes,
    targets,
    fencingActions,
    openPages,
    claims,
    pageWindowSeconds,
  };
}

/** The failover timeline: claims on a time axis, and the current epoch's commit → moved → verified. SVG + a table. */
export function renderTimeline(claims: TimelineClaim[]): string {
  if (claims.length === 0) return '<p class="muted">No claim in the journal read (the latest 100 entries).</p>';
  const times: number[] = [];
  for (const c of claims) for (const t of [c.at, c.movedAt, c.verifiedAt]) if (typeof t === 'number' && Number.isFinite(t)) times.push(t);
  let t0 = Math.min(...times);
  let t1 = Math.max(...times);
  if (t1 - t0 < 1000) t1 = t0 + 1000;
  const pad = (t1 - t0) * 0.06;
  t0 -= pad;
  t1 += pad;
  const width = 960;
  const x = (t: number) => (20 + ((t - t0) / (t1 - t0)) * (width - 40)).toFixed(1);
  const axis = 78;
  const parts: string[] = [];
  parts.push('<line class="axis" x1="20" y1="' + axis + '" x2="' + (width - 20) + '" y2="' + axis + '"/>');
  for (let i = 0; i <= 4; i++) {
    const t = t0 + ((t1 - t0) * i) / 4;
    parts.push('<line class="tick" x1="' + x(t) + '" y1="' + (axis - 4) + '" x2="' + x(t) + '" y2="' + (axis + 4) + '"/>');
    parts.push('<text class="tick" x="' + x(t) + '" y="150" text-anchor="middle">' + esc(clock(t)) + '</text>');
  }
  const shape: Record<string, string> = { accepted: 'circle', operator_confirmed: 'circle', stale_claim: 'square', unverified_claim: 'triangle', system_identifier_mismatch: 'square' };
  claims.forEach((c, i) => {
    const cx = x(c.at);
    // An accepted claim by the epoch it opened; a refused one by the timeline it claimed.
    const label = c.node + (c.outcome === 'accepted' || c.outcome === 'operator_confirmed' ? ' e' + num(c.epoch) : c.timeline === null ? '' : ' TL' + num(c.timeline));
    const title = clock(c.at) + ' ' + c.outcome + ' from ' + c.node + (c.timeline === null ? '' : ' (timeline ' + num(c.timeline) + ')') + ': ' + c.reason;
    const kind = shape[c.outcome] ?? 'circle';
    const mark =
      kind === 'circle'
        ? '<circle cx="' + cx + '" cy="' + axis + '" r="7"/>'
        : kind === 'square'
          ? '<rect x="' + (Number(cx) - 6) + '" y="' + (axis - 6) + '" width="12" height="12" transform="rotate(45 ' + cx + ' ' + axis + ')"/>'
          : '<polygon points="' + cx + ',' + (axis - 8) + ' ' + (Number(cx) - 7) + ',' + (axis + 6) + ' ' + (Number(cx) + 7) + ',' + (axis + 6) + '"/>';
    parts.push(
      '<g class="claim ' + esc(c.outcome) + '" data-claim="" data-outcome="' + esc(c.outcome) + '" data-node="' + esc(c.node) + '" data-epoch="' + num(c.epoch) + '"><title>' + esc(title) + '</title>' + mark +
        '<text x="' + cx + '" y="' + (axis - 16 - (i % 3) * 14) + '" text-anchor="middle">' + esc(label) + '</text></g>',
    );
    if (c.movedAt !== null || c.verifiedAt !== null) {
      const y = axis + 26;
      const moved = c.movedAt ?? c.at;
      parts.push('<g class="move" data-move="" data-node="' + esc(c.node) + '" data-epoch="' + num(c.epoch) + '">');
      parts.push('<line class="to-moved" x1="' + cx + '" y1="' + y + '" x2="' + x(moved) + '" y2="' + y + '"/>');
      if (c.movedAt !== null) parts.push('<text x="' + x(c.movedAt) + '" y="' + (y + 16) + '" text-anchor="middle">moved +' + esc(span(c.movedAt - c.at)) + '</text>');
      if (c.verifiedAt !== null) {
        parts.push('<line class="to-verified" x1="' + x(moved) + '" y1="' + y + '" x2="' + x(c.verifiedAt) + '" y2="' + y + '"/>');
        parts.push('<text x="' + x(c.verifiedAt) + '" y="' + (y - 6) + '" text-anchor="middle">verified +' + esc(span(c.verifiedAt - c.at)) + '</text>');
      }
      parts.push('</g>');
    }
  });
  const rows = claims
    .slice()
    .reverse()
    .map(
      (c) =>
        '<tr class="' + esc(c.outcome) + '"><td>' + esc(clock(c.at)) + '</td><td>' + esc(c.node) + '</td><td><span class="badge ' + esc(c.outcome) + '">' + esc(c.outcome) + '</span></td><td>' + num(c.epoch) + '</td><td>' + num(c.timeline) + '</td><td>' +
        (c.movedAt === null ? '-' : '+' + esc(span(c.movedAt - c.at))) + '</td><td>' + (c.verifiedAt === null ? '-' : '+' + esc(span(c.verifiedAt - c.at))) + '</td><td class="reason">' + esc(c.reason) + '</td></tr>',
    )
    .join('');
  return (
    '<svg class="timeline" viewBox="0 0 ' + width + ' 160" role="img" aria-label="failover timeline">' + parts.join('') + '</svg>' +
    '<table class="claims"><thead><tr><th>commit (UTC)</th><th>node</th><th>claim</th><th>epoch</th><th>timeline</th><th>→ moved</th><th>→ verified</th><th>reason</th></tr></thead><tbody>' + rows + '</tbody></table>'
  );
}

/** The cluster panel. */
export function renderCluster(view: ClusterView): string {
  const badge = (text: string) => '<span class="badge ' + esc(text) + '">' + esc(text) + '</span>';
  const nodes = view.nodes
    .map(
      (n) =>
        '<tr data-node="' + esc(n.name) + '" class="' + (n.role === 'primary' ? 'primary' : '') + '"><td>' + esc(n.name) + '</td><td>' + badge(n.role) + '</td><td>' + badge(n.health) + '</td><td>' + esc(n.holds.join(', ') || '-') + '</td><td>' + (n.fenced ? badge('fenced') : '-') +
        '</td><td>' + esc(clock(n.lastSeen)) + '</td><td class="mono">' + esc(n.eni) + '</td><td class="mono">' + esc(n.privateIp ?? '-') + '</td></tr>',
    )
    .join('');
  const targets =
    view.targets.length === 0
      ? '<tr><td colspan="6" class="muted">No status yet for epoch ' + num(view.endpoint.epoch) + ' (the actuator has not reported).</td></tr>'
      : view.targets
          .map(
            (t) =>
              '<tr data-mechanism="' + esc(t.mechanism) + '"><td>' + esc(t.mechanism) + '</td><td class="mono">' + esc(t.target) + '</td><td>' + esc(t.desiredNode) + ' <span class="mono muted">' + esc(t.desired ?? '') + '</span></td><td>' + esc(t.observedNode) +
              ' <span class="mono muted">' + esc(t.observed ?? '') + '</span></td><td>' + badge(t.state) + '</td><td>' + esc(t.result) + (t.error ? ' <span class="err">' + esc(t.error.code + ': ' + t.error.message) + '</span>' : '') + '</td></tr>',
          )
          .join('');
  const pages =
    view.openPages.length === 0
      ? '<p class="muted">None open (pages raised in the last ' + num(view.pageWindowSeconds) + ' s, and a failed move until it converges).</p>'
      : '<ul class="pages">' +
        view.openPages.map((p) => '<li class="' + esc(p.severity) + '" data-page="' + esc(p.type) + '">' + badge(p.severity) + ' <b>' + esc(p.type) + '</b> ' + esc(p.node ?? '') + ' <span class="muted">' + esc(clock(p.at)) + '</span><div class="reason">' + esc(p.text) + '</div></li>').join('') +
        '</ul>';
  const actions =
    view.fencingActions.length === 0 ? '' : '<ul class="fencing">' + view.fencingActions.map((a) => '<li>' + esc(clock(a.at)) + ' ' + esc(a.type) + ' ' + esc(a.node) + ': ' + esc(a.reason) + '</li>').join('') + '</ul>';
  const fenced = view.nodes.filter((n) => n.fenced).map((n) => n.name);
  return (
    '<section class="cluster" data-cluster="' + esc(view.cluster) + '">' +
    '<h2>' + esc(view.cluster) + ' <span class="muted">' + esc(view.tool) + (view.dryRun ? ', dry run' : '') + '</span></h2>' +
    '<p class="summary">primary <b id="vs-primary">' + esc(view.primary ?? 'none') + '</b> · timeline ' + num(view.timeline) + ' · epoch ' + num(view.epoch) + ' (applied ' + num(view.appliedEpoch) + ') · endpoint ' + badge(view.endpoint.phase) +
    ' <span class="muted">since ' + esc(clock(view.endpoint.since === null ? null : Date.parse(view.endpoint.since))) + ', at ' + esc(clock(view.endpoint.at === null ? null : Date.parse(view.endpoint.at))) + '</span></p>' +
    '<h3>Nodes</h3><table class="nodes"><thead><tr><th>node</th><th>role</th><th>health</th><th>holds</th><th>fenced</th><th>last seen</th><th>ENI</th><th>private IP</th></tr></thead><tbody>' + nodes + '</tbody></table>' +
    '<h3>Endpoint: desired vs observed</h3><table class="targets"><thead><tr><th>mechanism</th><th>target</th><th>desired</th><th>observed</th><th>state</th><th>result</th></tr></thead><tbody>' + targets + '</tbody></table>' +
    '<div class="cols"><div><h3>Fencing record</h3><dl class="fencing-record"><dt>primary</dt><dd>' + esc(view.primary ?? 'none') + '</dd><dt>timeline</dt><dd>' + num(view.timeline) + '</dd><dt>epoch</dt><dd>' + num(view.epoch) + '</dd><dt>applied epoch</dt><dd>' + num(view.appliedEpoch) +
    '</dd><dt>system identifier</dt><dd class="mono">' + esc(view.systemIdentifier ?? '-') + '</dd><dt>policy</dt><dd>' + esc(view.fencingPolicy) + '</dd><dt>fenced nodes</dt><dd>' + esc(fenced.join(', ') || 'none') + '</dd></dl>' + actions + '</div>' +
    '<div><h3>Open pages</h3>' + pages + '</div></div>' +
    '<h3>Failover timeline</h3>' + renderTimeline(view.claims) +
    '</section>'
  );
}

/** The fleet table; `selected` is highlighted. Links are relative to `base` (where `/status` lives). */
export function renderFleet(rows: FleetRow[], more: boolean, selected: string | null, base: string): string {
  const body = rows
    .map(
      (r) =>
        '<tr data-cluster="' + esc(r.cluster) + '"' + (r.cluster === selected ? ' class="selected"' : '') + '><td><a href="' + esc(base + '/status/' + encodeURIComponent(r.cluster)) + '">' + esc(r.cluster) + '</a></td><td>' + esc(r.tool) + '</td><td>' + esc(r.primary ?? '-') + '</td><td>' + num(r.timeline) + '</td><td>' +
        num(r.epoch) + ' / ' + num(r.appliedEpoch) + '</td><td><span class="badge ' + esc(r.endpoint.phase) + '">' + esc(r.endpoint.phase) + '</span></td><td>' + esc(r.lastFailover ?? '-') + '</td><td>' + num(r.pages.last24h) + '</td></tr>',
    )
    .join('');
  return (
    '<section class="fleet"><h2>Fleet</h2><table><thead><tr><th>cluster</th><th>tool</th><th>primary</th><th>timeline</th><th>epoch / applied</th><th>endpoint</th><th>last failover</th><th>pages 24 h</th></tr></thead><tbody>' +
    (body || '<tr><td colspan="8" class="muted">No cluster registered.</td></tr>') +
    '</tbody></table>' + (more ? '<p class="muted">More clusters than shown: the first 100 by name (<code>vipswitch status</code> lists them all).</p>' : '') + '</section>'
  );
}

// ---- server side only ----------------------------------------------------------------------------------------------

/** The functions the browser gets as source text (in dependency order), for its refreshes. */
const BROWSER_FUNCTIONS = [esc, num, clock, span, clusterView, renderTimeline, renderCluster, renderFleet] as const;

/** What the page shows first (the server's render) and how its script refreshes it. */
export interface StatusPageInput {
  /** Path prefix before `/status` (a proxy or stage prefix), '' at the root. */
  base: string;
  fleet: FleetRow[];
  more: boolean;
  /** The selected cluster's status, or null for the fleet alone. */
  cluster: ClusterStatus | null;
  now: Date;
  pageWindowSeconds: number;
  refreshMs: number;
  /** A fresh random nonce: the only script the page's Content-Security-Policy lets run. */
  nonce: string;
}

/** How many journal entries the page reads (and its script asks the API for): the timeline's window. */
export const STATUS_PAGE_JOURNAL = 100;
/** How many clusters the fleet table shows (the fleet API's largest page). */
export const STATUS_PAGE_FLEET = 100;

/**
 * `GET /v1/clusters/{cluster}`'s body from what the store holds (the page's first paint shows what its refreshes
 * will fetch): never a key, each target with its timing, the journal without the raw event.
 */
export function clusterStatusOf(loaded: LoadedCluster, journal: JournalEntry[]): ClusterStatus {
  const { state, config } = loaded.record;
  const endpoint = endpointView(state.epoch, loaded.targets);
  const raw = loaded.targets && loaded.targets.epoch === endpoint.epoch ? loaded.targets.targets : [];
  return {
    cluster: config,
    state,
    nodes: loaded.nodes.map((n) => ({ name: n.name, eni: n.eni, privateIp: n.privateIp, instanceId: n.instanceId, fenced: n.fenced, health: n.health ?? 'unknown' })),
    endpoint: {
      ...endpoint,
      targets: endpoint.targets.map((t, i) => ({ ...t, ...(raw[i]?.ms !== undefined ? { ms: raw[i]!.ms } : {}), ...(raw[i]?.verified !== undefined ? { verified: raw[i]!.verified } : {}) })),
    },
    journal: journal.map(({ event, ...entry }) => ({ ...entry, source: event.source, facts: event.facts, eventDetails: event.details })),
  };
}

/**
 * What the page shows first: the fleet's first page and, with `cluster`, that cluster's status and journal.
 * @throws NotFoundError `unknown_cluster` when `cluster` is not registered.
 */
export async function loadStatusPage(store: FleetIndex & Pick<ClusterStore, 'loadCluster' | 'readJournal'>, cluster: string | null, now: Date): Promise<{ fleet: FleetRow[]; more: boolean; cluster: ClusterStatus | null }> {
  const [fleet, loaded, journal] = await Promise.all([
    listClusterSummaries(store, { limit: STATUS_PAGE_FLEET, after: null }, now),
    cluster === null ? Promise.resolve(null) : store.loadCluster(cluster),
    cluster === null ? Promise.resolve([]) : store.readJournal(cluster, STATUS_PAGE_JOURNAL),
  ]);
  if (cluster !== null && loaded === null) throw new NotFoundError('unknown_cluster', `cluster ${cluster} is not registered`);
  return { fleet: fleet.clusters, more: fleet.next !== null, cluster: loaded === null ? null : clusterStatusOf(loaded, journal) };
}

/** The page's Content-Security-Policy: its own nonce'd script, inline styles, fetches to its own origin only. */
export function statusPagePolicy(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
}

/** The whole page: first paint rendered here, then refreshed in the browser every `refreshMs` from the JSON API. */
export function statusPageDocument(input: StatusPageInput): string {
  const view = input.cluster === null ? null : clusterView(input.cluster, input.now.getTime(), input.pageWindowSeconds);
  const main = renderFleet(input.fleet, input.more, view?.cluster ?? null, input.base) + (view === null ? '' : renderCluster(view));
  const config = { base: input.base, cluster: view?.cluster ?? null, refreshMs: input.refreshMs, pageWindowSeconds: input.pageWindowSeconds, journal: STATUS_PAGE_JOURNAL, fleet: STATUS_PAGE_FLEET };
  // JSON inside <script>: `<` escaped so no data can close the element.
  const configJson = JSON.stringify(config).replace(/</g, '\\u003c');
  const title = view === null ? 'vipswitch: fleet' : `vipswitch: ${view.cluster}`;
  const script = BROWSER_FUNCTIONS.map((f) => f.toString()).join('\n');
  // The script is our own source, never data; a closing tag in it would end the element early.
  if (/<\/script|<!--/i.test(script)) throw new Error('status page script contains a closing script tag or a comment opener');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header><a href="${esc(input.base + '/status')}">vipswitch</a> <span class="muted">status</span>
<span class="right"><span id="vs-state" class="muted">rendered ${esc(clock(input.now.getTime()))} UTC</span> <span id="vs-error" class="err" role="alert"></span></span></header>
<main id="vs-main">${main}</main>
<footer class="muted">Refreshes every ${num(input.refreshMs / 1000)} s from <code>GET /v1/clusters</code> and <code>GET /v1/clusters/{cluster}</code>. Times in UTC. Open pages: raised inside the page de-duplication window (${num(input.pageWindowSeconds)} s), and a failed endpoint move until it converges.</footer>
<script nonce="${esc(input.nonce)}">
"use strict";
${script}
(${browserRefresh.toString()})(${configJson}, { clusterView: ${clusterView.name}, renderCluster: ${renderCluster.name}, renderFleet: ${renderFleet.name}, clock: ${clock.name} });
</script>
</body>
</html>
`;
}

/**
 * The browser's refresh loop (shipped as source, like the functions above; `g` is the browser's global object): fetch
 * the JSON API, render with the shipped functions, swap the page's main element; a failed fetch is shown, and the next
 * round tries again. One round at a time: the next starts `refreshMs` after the previous one ended.
 */
function browserRefresh(
  config: { base: string; cluster: string | null; refreshMs: number; pageWindowSeconds: number; journal: number; fleet: number },
  fns: { clusterView: typeof clusterView; renderCluster: typeof renderCluster; renderFleet: typeof renderFleet; clock: typeof clock },
): void {
  const g = globalThis as unknown as {
    document: { getElementById(id: string): { innerHTML: string; textContent: string } | null };
    fetch(url: string, init: unknown): Promise<{ ok: boolean; status: number; json(): Promise<any> }>;
    setTimeout(f: () => void, ms: number): unknown;
  };
  const get = async (path: string) => {
    const response = await g.fetch(config.base + path, { headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new Error(path + ': ' + (body && body.code ? body.code + ' ' + body.message : 'HTTP ' + response.status));
    return body;
  };
  const round = async () => {
    const state = g.document.getElementById('vs-state');
    const error = g.document.getElementById('vs-error');
    try {
      const [fleet, status] = await Promise.all([get('/v1/clusters?limit=' + config.fleet), config.cluster === null ? Promise.resolve(null) : get('/v1/clusters/' + encodeURIComponent(config.cluster) + '?journal=' + config.journal)]);
      const html = fns.renderFleet(fleet.clusters, fleet.next !== null, config.cluster, config.base) + (status === null ? '' : fns.renderCluster(fns.clusterView(status, Date.now(), config.pageWindowSeconds)));
      const main = g.document.getElementById('vs-main');
      if (main) main.innerHTML = html;
      if (state) state.textContent = 'updated ' + fns.clock(Date.now()) + ' UTC';
      if (error) error.textContent = '';
    } catch (e) {
      if (error) error.textContent = 'refresh failed: ' + String((e as Error).message || e);
    } finally {
      g.setTimeout(round, config.refreshMs);
    }
  };
  g.setTimeout(round, config.refreshMs);
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1d2330;--muted:#6b7385;--bg:#fbfbfc;--line:#d9dce3;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--info:#0969da}
@media (prefers-color-scheme:dark){:root{--fg:#e6e8ee;--muted:#9aa3b5;--bg:#14171d;--line:#2d323c}}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header,footer{padding:10px 20px;border-bottom:1px solid var(--line)}footer{border:0;border-top:1px solid var(--line);font-size:12px}
header a{font-weight:700;color:inherit;text-decoration:none}.right{float:right}main{padding:0 20px 20px}
h2{margin:22px 0 6px;font-size:18px}h3{margin:18px 0 6px;font-size:14px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
table{border-collapse:collapse;width:100%;margin:4px 0}th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}th{font-weight:600;color:var(--muted)}
tr.selected,tr.primary{background:rgba(9,105,218,.08)}.mono{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}.muted{color:var(--muted)}.err{color:var(--bad)}
.reason{max-width:48em;overflow-wrap:anywhere;white-space:pre-wrap}
.badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:12px;border:1px solid var(--line)}
.badge.converged,.badge.accepted,.badge.primary,.badge.operator_confirmed{color:var(--ok);border-color:var(--ok)}
.badge.converging,.badge.warning,.badge.unverified_claim,.badge.replica{color:var(--warn);border-color:var(--warn)}
.badge.failed,.badge.critical,.badge.stale_claim,.badge.system_identifier_mismatch,.badge.fenced{color:var(--bad);border-color:var(--bad)}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:24px}@media (max-width:900px){.cols{grid-template-columns:1fr}}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 12px;margin:0}dt{color:var(--muted)}dd{margin:0}
ul.pages,ul.fencing{list-style:none;padding:0;margin:0}ul.pages li{padding:6px 0;border-bottom:1px solid var(--line)}
svg.timeline{width:100%;height:auto;max-height:200px;font-size:11px;fill:var(--fg)}svg .axis,svg .tick{stroke:var(--muted)}svg text.tick{stroke:none;fill:var(--muted)}
svg .claim.accepted,svg .claim.operator_confirmed{fill:var(--ok)}svg .claim.stale_claim,svg .claim.system_identifier_mismatch{fill:var(--bad)}svg .claim.unverified_claim{fill:var(--warn)}svg .claim text{fill:var(--fg)}
svg .to-moved{stroke:var(--info);stroke-width:5}svg .to-verified{stroke:var(--ok);stroke-width:5}
`;
