/**
 * R3's corpus: requests the API must refuse (4xx with `{code, message}`, no 5xx, no state change). Generated with
 * fast-check from one seed, so a run repeats exactly (VIPSWITCH_R3_SEED). Every request is hostile by construction:
 * the tests never filter through the server's own schema, so a request the server wrongly took would show as a 2xx
 * and as a state change, not vanish from the corpus.
 */
import { createHmac, randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { sign, signedHeaders } from '../../shared/protocol/signature';

export const CATEGORIES = [
  'malformed_json',
  'wrong_types',
  'extra_fields',
  'prototype_keys',
  'deep_nesting',
  'huge_bodies_headers',
  'non_utf8',
  'signature_faults',
  'replay_and_skew',
  'unknown_cluster_node',
  'control_and_shell_chars',
  'methods_and_paths',
  'status_api',
  'ping',
] as const;
export type Category = (typeof CATEGORIES)[number];

export interface HostileRequest {
  category: Category;
  /** What is wrong with it, for the report and for replaying a violation. */
  label: string;
  method: string;
  path: string;
  /** Header values may hold latin1 bytes (0x80-0xff), sent as such. */
  headers: Record<string, string>;
  body?: Buffer;
  /** Bytes straight on the socket (latin1), for what no HTTP client sends; the other fields describe it. */
  raw?: string;
  /** The statuses it must get when narrower than "a 4xx". */
  expect?: number[];
  /** Asked for HTML (the status page for a browser): its refusal is a page, so only the status is checked. */
  html?: true;
}

export interface CorpusNode {
  name: string;
  id: number;
  key: string;
}

export interface CorpusContext {
  cluster: string;
  /** A second registered cluster (cross-cluster keys and names). */
  otherCluster: string;
  nodes: Record<'node1' | 'node2' | 'node3', CorpusNode>;
  otherNodes: Record<'node1' | 'node2' | 'node3', CorpusNode>;
  systemIdentifier: string;
  replayWindowSeconds: number;
  /** Signed requests the server accepted during set-up: sent again verbatim, they are replays. */
  accepted: { headers: Record<string, string>; body: string }[];
  /** Unix seconds for signing (the test's clock). */
  now: () => number;
}

const EVENTS = '/v1/events';
const SHELL = ['$(reboot)', '`id`', '; rm -rf /', '| nc 127.0.0.1 9', '&& true', '> /etc/passwd', '< /dev/zero', "'", '"', '\\', '*', '?', '~root', '!!', '#', '${IFS}', '$HOME', '%n', '%s%s%s', '{{7*7}}', '<script>', '../../', '\n', '\r\n'];
const CONTROL = ['\u0000', '\u0001', '\u0007', '\u0008', '\t', '\n', '\u000b', '\u000c', '\r', '\u001b[31m', '\u001f', '\u007f', '\u0085', '\u2028', '\u2029', '\u202e', '\u200b', '\ufeff', '\ud800'];
const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'PROPFIND', 'MKCOL', 'PURGE'] as const;

/** A valid v1 event: node2 claiming primary on a newer timeline. Accepted, it would move the endpoint: any slip shows. */
export function claimEvent(ctx: CorpusContext, node: CorpusNode = ctx.nodes.node2, cluster = ctx.cluster): Record<string, any> {
  const at = new Date(ctx.now() * 1000).toISOString();
  return {
    v: 1,
    id: `r3-${randomUUID()}`,
    cluster,
    node: node.name,
    source: 'repmgr',
    type: 'standby_promote',
    success: true,
    role: null,
    occurredAt: at,
    details: `server "${node.name}" (ID: ${node.id}) was successfully promoted to primary`,
    facts: { inRecovery: false, timeline: 9, lsn: '0/9000060', systemIdentifier: ctx.systemIdentifier },
    raw: { argv: [String(node.id), 'standby_promote', '1', at.replace('T', ' ').replace('Z', '+00'), 'promoted', '', '', ''] },
  };
}

/** Headers of a correctly signed request of `body` (the server's view of the bytes: decoded as UTF-8). */
export function signed(ctx: CorpusContext, body: string | Buffer, node: CorpusNode = ctx.nodes.node2, cluster = ctx.cluster, at = ctx.now()): Record<string, string> {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  return signedHeaders(cluster, node.name, node.key, text, at);
}

function post(category: Category, label: string, ctx: CorpusContext, body: string | Buffer, headers?: Record<string, string>, expect?: number[]): HostileRequest {
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return { category, label, method: 'POST', path: EVENTS, headers: headers ?? signed(ctx, bytes), body: bytes, ...(expect ? { expect } : {}) };
}

/** Paths of every field of the event that the contract constrains, with values of every wrong type for it. */
const WRONG: Record<string, unknown[]> = {
  v: [0, 2, -1, '1', 'v1', null, true, [], {}, 1.5, 1e309],
  id: [null, 7, true, [], {}, '', 'short', 'x'.repeat(129), 'has space', 'id/with/slash', 'ünïcödé-id', 'id\u0000nul0'],
  cluster: [null, 1, false, [], {}, '', '-leading', 'a'.repeat(64), 'a b', 'a/b'],
  node: [null, 2, true, [], {}, '', '.dot', 'n'.repeat(64), 'node 2', 'node2/x'],
  source: [null, 0, true, [], {}, '', 'REPMGR', 'repmgr ', 'pacemaker', 'operator\u0000'],
  type: [null, 3, false, [], {}, '', 'Standby_Promote', 'standby promote', 'x'.repeat(65), '1abc'],
  success: [null, 1, 0, 'true', 'false', [], {}, 'yes'],
  role: [1, true, [], {}, 'r'.repeat(33)],
  occurredAt: [null, 0, 1795313189, true, [], {}, '', 'yesterday', '2026-11-22', '2026-11-22 02:08:22', '2026-13-01T00:00:00Z', '2026-11-22T25:00:00Z'],
  details: [null, 4, false, [], {}, 'd'.repeat(2049)],
  facts: [0, 'facts', true, [], [{ inRecovery: false }], {}],
  'facts.inRecovery': [null, 'false', 0, 1, [], {}],
  'facts.timeline': ['9', 0, -1, 1.5, 0x100000000, true, [], {}],
  'facts.lsn': [1, true, [], {}, '', '0/', '/0', '0:9000060', 'G/0', '123456789/0'],
  'facts.systemIdentifier': [7710811430681400266, true, [], {}, '', '-1', '1.5', '1'.repeat(21), '0x1f'],
  raw: [null, 'argv', 1, [], true],
  'raw.argv': [null, 'argv', 1, {}, true, Array.from({ length: 33 }, () => 'a'), [1, 2, 3]],
  'raw.argv.0': ['', 'two', '-2', '0', '2.5', null, 2],
  'raw.argv.1': ['', 'Standby_Promote', 'standby promote', null, 1],
  'raw.argv.2': ['', 'true', '2', null, 1],
  'raw.occurredAtFrom': [null, 'server', 'HOOK', 1, true, []],
};

function setPath(target: Record<string, any>, path: string, value: unknown): void {
  const keys = path.split('.');
  let at: any = target;
  for (const key of keys.slice(0, -1)) at = at[key];
  at[keys[keys.length - 1]!] = value;
}

/** Wrong types: each constrained field, each wrong value; the rest of the event valid and correctly signed. */
function wrongTypes(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const cases = Object.entries(WRONG).flatMap(([path, values]) => values.map((value) => [path, value] as const));
  const picks = fc.sample(fc.constantFrom(...cases), { seed, numRuns: count });
  return picks.map(([path, value], i) => {
    // Cover every case once before drawing at random.
    const [p, v] = i < cases.length ? cases[i]! : [path, value];
    const event = claimEvent(ctx);
    setPath(event, p, v);
    return post('wrong_types', `${p} = ${JSON.stringify(v)?.slice(0, 40)}`, ctx, JSON.stringify(event));
  });
}

/** Malformed and truncated JSON, correctly signed so it reaches the parser. */
function malformedJson(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const fixed = ['', ' ', '\n', 'null', 'true', '0', '"event"', '[]', '[{}]', '{}', '{', '}', '{"v":1,}', "{'v':1}", '{"v":NaN}', '{"v":1}//', '/*c*/{"v":1}', '{"v":01}', '\ufeff{"v":1}', '{"v":1}{"v":1}', 'undefined', '{"v":Infinity}'];
  const full = JSON.stringify(claimEvent(ctx));
  const truncated = fc.sample(fc.integer({ min: 1, max: full.length - 1 }), { seed, numRuns: Math.max(0, count - fixed.length) });
  return [
    ...fixed.map((text) => post('malformed_json', `body ${JSON.stringify(text)}`, ctx, text, text === '' ? { 'content-type': 'application/json', ...signed(ctx, ' ') } : undefined)),
    ...truncated.map((cut) => post('malformed_json', `event cut at byte ${cut} of ${full.length}`, ctx, full.slice(0, cut))),
  ].slice(0, count);
}

const EXTRA_NAMES = ['epoch', 'primary', 'timeline', 'appliedEpoch', 'admin', 'fenced', 'hookKey', '$where', '$set', 'Id', 'ID', ' id', 'v2', '', 'x'.repeat(300), 'sk', 'pk'];

/** Extra fields, at the top, in facts and in raw (the schema is strict everywhere). */
function extraFields(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const arb = fc.tuple(fc.constantFrom('', 'facts.', 'raw.'), fc.oneof(fc.constantFrom(...EXTRA_NAMES), fc.string({ minLength: 1, maxLength: 12 })), fc.jsonValue({ maxDepth: 2 }));
  return fc.sample(arb, { seed, numRuns: count }).map(([where, name, value]) => {
    const event = claimEvent(ctx);
    const known = where === '' ? Object.keys(event) : where === 'facts.' ? Object.keys(event.facts) : ['argv', 'occurredAtFrom'];
    // A name the schema knows would overwrite a field, not add one: make it unknown.
    const key = known.includes(name) ? `${name}_extra` : name;
    const holder = where === '' ? event : where === 'facts.' ? event.facts : event.raw;
    // defineProperty: a plain assignment of "__proto__" would set the prototype, not add a field.
    Object.defineProperty(holder, key, { value: value === undefined ? null : value, enumerable: true, configurable: true, writable: true });
    return post('extra_fields', `${where}${JSON.stringify(key).slice(0, 30)} added`, ctx, JSON.stringify(event));
  });
}

/** `__proto__`, `constructor`, `prototype` as JSON keys (written by hand: JSON.stringify never emits `__proto__`). */
function prototypeKeys(ctx: CorpusContext, count: number): HostileRequest[] {
  const out: HostileRequest[] = [];
  const payloads = ['{"polluted":true}', '{"isAdmin":true,"epoch":999}', 'null', '"x"', '[]'];
  for (const key of ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf']) {
    for (const where of ['top', 'facts', 'raw'] as const) {
      for (const payload of payloads) {
        const event = claimEvent(ctx);
        const text = JSON.stringify(event);
        const insert = `"${key}":${payload},`;
        const body = where === 'top' ? text.replace('{', `{${insert}`) : text.replace(`"${where}":{`, `"${where}":{${insert}`);
        out.push(post('prototype_keys', `${where}.${key} = ${payload}`, ctx, body));
      }
    }
  }
  const sampled = fc.sample(fc.constantFrom(...out), { seed: 7, numRuns: Math.max(0, count - out.length) });
  return [...out, ...sampled].slice(0, count);
}

/** Deep nesting, within the size limit (so it reaches the parser and the schema). */
function deepNesting(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const arb = fc.tuple(fc.integer({ min: 100, max: 30_000 }), fc.constantFrom('array', 'object', 'mixed'), fc.constantFrom('body', 'facts', 'details', 'argv'));
  return fc.sample(arb, { seed, numRuns: count }).map(([depth, shape, where]) => {
    const open = shape === 'array' ? '[' : shape === 'object' ? '{"a":' : '[{"a":';
    const close = shape === 'array' ? ']' : shape === 'object' ? '}' : '}]';
    const per = shape === 'mixed' ? 2 : 1;
    const levels = Math.min(Math.floor(depth / per), Math.floor(60_000 / (open.length + close.length)));
    const nested = `${open.repeat(levels)}1${close.repeat(levels)}`;
    let body: string;
    if (where === 'body') body = nested;
    else {
      const text = JSON.stringify({ ...claimEvent(ctx), ...(where === 'facts' ? { facts: '@@' } : where === 'details' ? { details: '@@' } : { raw: { argv: ['2', 'standby_promote', '1', '@@'] } }) });
      body = text.replace('"@@"', nested);
    }
    return post('deep_nesting', `${levels} levels of ${shape} in ${where}`, ctx, body);
  });
}

/** Bodies over the limit (64 KB in the handler, 10 MB in the host) and headers over what the handlers or Node take. */
function hugeBodiesHeaders(ctx: CorpusContext, count: number): HostileRequest[] {
  const event = JSON.stringify({ ...claimEvent(ctx), details: 'x'.repeat(2048) });
  const padded = (size: number) => event.replace('"details":"', `"details":"${'y'.repeat(Math.max(0, size - event.length))}`);
  const out: HostileRequest[] = [];
  for (const size of [65_537, 70_000, 262_144, 1_048_576, 6 * 1_048_576]) {
    out.push(post('huge_bodies_headers', `signed body of ${size} bytes`, ctx, padded(size), undefined, [413]));
    out.push(post('huge_bodies_headers', `unsigned body of ${size} bytes`, ctx, padded(size), { 'content-type': 'application/json' }, [413]));
  }
  out.push(post('huge_bodies_headers', 'body of 11 MB (over the host limit)', ctx, Buffer.alloc(11 * 1_048_576, 0x20), { 'content-type': 'application/json' }, [413]));
  const body = JSON.stringify(claimEvent(ctx));
  const good = signed(ctx, body);
  const big = (n: number) => 'a'.repeat(n);
  const headerCases: [string, Record<string, string>, number[] | undefined][] = [
    ['x-vipswitch-node of 8 KB', { ...good, 'x-vipswitch-node': `${big(8000)}/node2` }, [400]],
    ['x-vipswitch-node node part of 8 KB', { ...good, 'x-vipswitch-node': `${ctx.cluster}/${big(8000)}` }, [400]],
    ['x-vipswitch-node cluster of 300 bytes', { ...good, 'x-vipswitch-node': `${big(300)}/node2` }, [400]],
    ['x-vipswitch-signature of 10 KB', { ...good, 'x-vipswitch-signature': `v1=${'0'.repeat(10_000)}` }, [401]],
    ['x-vipswitch-timestamp of 10 KB', { ...good, 'x-vipswitch-timestamp': '1'.repeat(10_000) }, [401]],
    ['an unrelated header of 12 KB', { ...good, 'x-padding': big(12_000) }, undefined],
    ['200 extra headers', { ...good, ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-h${i}`, big(20)])) }, undefined],
    ['content-type of 4 KB', { ...good, 'content-type': `application/json; ${big(4000)}` }, undefined],
  ];
  for (const [label, headers, expect] of headerCases) {
    // A large header beside a correct signature: if it slipped through, the claim would be accepted.
    const request = post('huge_bodies_headers', label, ctx, body, headers, expect);
    if (label.startsWith('an unrelated') || label.startsWith('200 extra') || label.startsWith('content-type')) request.headers['x-vipswitch-signature'] = 'v1=' + '0'.repeat(64);
    out.push(request);
  }
  // Over Node's 16 KB header limit: refused before any route (the edge answers 431 in the contract's shape).
  out.push({ category: 'huge_bodies_headers', label: 'headers of 20 KB (raw)', method: 'POST', path: EVENTS, headers: {}, raw: `POST ${EVENTS} HTTP/1.1\r\nhost: 127.0.0.1\r\nx-big: ${big(20_000)}\r\ncontent-length: 2\r\n\r\n{}`, expect: [431] });
  return fc.sample(fc.constantFrom(...out), { seed: 11, numRuns: Math.max(0, count - out.length) }).concat(out).slice(-Math.max(count, out.length));
}

/** Bytes that are not UTF-8, in structure and in every constrained string; signed over the server's view of them. */
function nonUtf8(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const BAD = [[0xff], [0xfe, 0xff], [0xc0, 0x80], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80], [0xc3]];
  const FIELDS = ['id', 'cluster', 'node', 'source', 'type', 'occurredAt', 'facts.lsn', 'facts.systemIdentifier', 'raw.argv.0', 'raw.argv.1', 'structure'];
  const arb = fc.tuple(fc.constantFrom(...BAD), fc.constantFrom(...FIELDS), fc.boolean());
  return fc.sample(arb, { seed, numRuns: count }).map(([bad, field, signRawBytes]) => {
    const event = claimEvent(ctx);
    const MARK = 'QQBADQQ';
    if (field === 'structure') event.v = MARK;
    else {
      const keys = field.split('.');
      let at: any = event;
      for (const key of keys.slice(0, -1)) at = at[key];
      const last = keys[keys.length - 1]!;
      at[last] = `${String(at[last])}${MARK}`;
    }
    let text = JSON.stringify(event);
    if (field === 'structure') text = text.replace(`"${MARK}"`, MARK);
    const [before, after] = text.split(MARK) as [string, string];
    const body = Buffer.concat([Buffer.from(before, 'utf8'), Buffer.from(bad), Buffer.from(after, 'utf8')]);
    // Signed over the decoded text (reaches validation), or over the raw bytes as latin1 (a signature the server cannot match).
    const headers = signRawBytes ? signedHeaders(ctx.cluster, 'node2', ctx.nodes.node2.key, body.toString('latin1'), ctx.now()) : signed(ctx, body);
    return post('non_utf8', `${Buffer.from(bad).toString('hex')} in ${field}, signed over ${signRawBytes ? 'the raw bytes' : 'the decoded text'}`, ctx, body, headers);
  });
}

/** Every way a signature can be wrong, on a valid claim (accepted, it would move the endpoint). */
function signatureFaults(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const body = JSON.stringify(claimEvent(ctx));
  const good = signed(ctx, body);
  const digest = good['x-vipswitch-signature']!.slice(3);
  const ts = good['x-vipswitch-timestamp']!;
  const without = (...names: string[]) => Object.fromEntries(Object.entries(good).filter(([k]) => !names.includes(k)));
  const withSig = (value: string) => ({ ...good, 'x-vipswitch-signature': value });
  const cases: [string, Record<string, string>, string?][] = [
    ['no x-vipswitch-signature', without('x-vipswitch-signature')],
    ['no x-vipswitch-timestamp', without('x-vipswitch-timestamp')],
    ['no x-vipswitch-node', without('x-vipswitch-node')],
    ['no signature headers at all', without('x-vipswitch-signature', 'x-vipswitch-timestamp', 'x-vipswitch-node')],
    ['empty signature', withSig('')],
    ['empty timestamp', { ...good, 'x-vipswitch-timestamp': '' }],
    ['empty node', { ...good, 'x-vipswitch-node': '' }],
    ['prefix v2=', withSig(`v2=${digest}`)],
    ['prefix V1=', withSig(`V1=${digest}`)],
    ['prefix v1:', withSig(`v1:${digest}`)],
    ['prefix sha256=', withSig(`sha256=${digest}`)],
    ['no prefix', withSig(digest)],
    ['prefix with a space', withSig(`v1= ${digest}`)],
    ['upper-case hex', withSig(`v1=${digest.toUpperCase()}`)],
    ['63 hex digits', withSig(`v1=${digest.slice(1)}`)],
    ['65 hex digits', withSig(`v1=${digest}0`)],
    ['a non-hex digit', withSig(`v1=${digest.slice(0, 63)}g`)],
    ['base64 of the digest', withSig(`v1=${Buffer.from(digest, 'hex').toString('base64')}`)],
    ['all zeros', withSig(`v1=${'0'.repeat(64)}`)],
    ['two signatures', withSig(`v1=${digest}, v1=${digest}`)],
    ['signed with node1 key as node2', withSig(`v1=${sign(ctx.nodes.node1.key, ts, body)}`)],
    ['signed with the other cluster\'s node2 key', withSig(`v1=${sign(ctx.otherNodes.node2.key, ts, body)}`)],
    ['signed with an empty key', withSig(`v1=${sign('', ts, body)}`)],
    ['signed with the key\'s bytes, not its text', withSig(`v1=${sign(Buffer.from(ctx.nodes.node2.key, 'hex'), ts, body)}`)],
    ['signed over another timestamp', { ...good, 'x-vipswitch-timestamp': String(Number(ts) - 1) }],
    ['signed without the timestamp', withSig(`v1=${sign(ctx.nodes.node2.key, '', body)}`)],
    ['signed over timestamp and body without the dot', withSig(`v1=${createHmac('sha256', ctx.nodes.node2.key).update(`${ts}${body}`).digest('hex')}`)],
    ['body altered after signing (timeline 9 to 10)', good, body.replace('"timeline":9', '"timeline":10')],
    ['body with a trailing newline after signing', good, `${body}\n`],
    ['body with a leading space after signing', good, ` ${body}`],
    ['node header names node3, signed by node2', { ...good, 'x-vipswitch-node': `${ctx.cluster}/node3` }],
    ['node header names the other cluster', { ...good, 'x-vipswitch-node': `${ctx.otherCluster}/node2` }],
    ['timestamp with a plus sign', { ...good, 'x-vipswitch-timestamp': `+${ts}` }],
    ['timestamp in milliseconds', { ...good, 'x-vipswitch-timestamp': `${ts}000` }],
    ['timestamp with a fraction', { ...good, 'x-vipswitch-timestamp': `${ts}.5` }],
    ['timestamp negative', { ...good, 'x-vipswitch-timestamp': `-${ts}` }],
    ['timestamp as a date', { ...good, 'x-vipswitch-timestamp': new Date(Number(ts) * 1000).toUTCString() }],
  ];
  const out = cases.map(([label, headers, altered]) => post('signature_faults', label, ctx, altered ?? body, headers, label.startsWith('node header names the other') ? [401, 404] : undefined));
  // Random signatures of the right shape.
  const random = fc.sample(fc.string({ unit: fc.constantFrom(...'0123456789abcdef'.split('')), minLength: 64, maxLength: 64 }), { seed, numRuns: Math.max(0, count - out.length) });
  return [...out, ...random.map((hex) => post('signature_faults', 'a random v1 digest', ctx, body, withSig(`v1=${hex}`), [401]))].slice(0, Math.max(count, out.length));
}

/** Exact replays of accepted requests, and correct signatures outside the clock window. */
function replayAndSkew(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const replays = ctx.accepted.map((a, i) => post('replay_and_skew', `replay of accepted request #${i + 1}`, ctx, a.body, a.headers, [401]));
  // 30 s beyond the window at least: the corpus is signed before the run, and sent up to a few seconds later.
  const arb = fc.tuple(fc.constantFrom(-1, 1), fc.oneof(fc.integer({ min: ctx.replayWindowSeconds + 30, max: ctx.replayWindowSeconds + 120 }), fc.integer({ min: 3600, max: 1_000_000_000 })));
  const skews = fc.sample(arb, { seed, numRuns: Math.max(0, count - replays.length) }).map(([sign, by]) => {
    const body = JSON.stringify(claimEvent(ctx));
    const at = Math.max(0, ctx.now() + sign * by);
    return post('replay_and_skew', `signed ${sign * by} s off the server clock`, ctx, body, signed(ctx, body, ctx.nodes.node2, ctx.cluster, at), [401]);
  });
  return [...replays, ...skews];
}

/** Unknown clusters and nodes, names that differ only in case, bodies naming someone else, repmgr ids of others. */
function unknownClusterNode(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const cases: HostileRequest[] = [];
  const body = (over: Record<string, unknown> = {}) => JSON.stringify({ ...claimEvent(ctx), ...over });
  const as = (cluster: string, node: string, text: string) => ({ ...signed(ctx, text), 'x-vipswitch-node': `${cluster}/${node}` });
  const b = body();
  cases.push(post('unknown_cluster_node', 'unknown cluster', ctx, b, as('no-such-cluster', 'node2', b), [404]));
  cases.push(post('unknown_cluster_node', 'unknown node', ctx, b, as(ctx.cluster, 'node9', b), [404]));
  cases.push(post('unknown_cluster_node', 'cluster name in upper case', ctx, b, as(ctx.cluster.toUpperCase(), 'node2', b), [404]));
  cases.push(post('unknown_cluster_node', 'node name in upper case', ctx, b, as(ctx.cluster, 'NODE2', b), [404]));
  const otherBody = body({ cluster: ctx.otherCluster });
  cases.push(post('unknown_cluster_node', 'body names the other cluster', ctx, otherBody, signed(ctx, otherBody), [400]));
  const node3Body = body({ node: 'node3' });
  cases.push(post('unknown_cluster_node', 'body names node3, signed by node2', ctx, node3Body, signed(ctx, node3Body), [400]));
  const idBody = JSON.stringify({ ...claimEvent(ctx), raw: { argv: ['3', 'standby_promote', '1'] } });
  cases.push(post('unknown_cluster_node', "repmgr %n of node3 from node2", ctx, idBody, signed(ctx, idBody), [404]));
  const name = fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/);
  const random = fc.sample(fc.tuple(name, name, fc.boolean()), { seed, numRuns: Math.max(0, count - cases.length) }).map(([cluster, node, keepCluster]) => {
    const c = keepCluster ? ctx.cluster : `zz-${cluster}`;
    const n = keepCluster ? `zz-${node}` : node;
    return post('unknown_cluster_node', keepCluster ? 'random unknown node' : 'random unknown cluster', ctx, b, as(c, n, b), [404]);
  });
  return [...cases, ...random];
}

/**
 * Control characters and shell metacharacters in every string the contract constrains (body fields, headers, path).
 * The free-text strings (details, role, raw.argv after %n %e %s) are carried verbatim by design: R3 checks them apart.
 */
function controlAndShell(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const FIELDS = ['id', 'cluster', 'node', 'source', 'type', 'occurredAt', 'facts.lsn', 'facts.systemIdentifier', 'raw.argv.0', 'raw.argv.1', 'raw.argv.2', 'raw.occurredAtFrom', 'header.node', 'header.timestamp', 'header.signature'];
  const arb = fc.tuple(fc.constantFrom(...FIELDS), fc.constantFrom(...SHELL, ...CONTROL), fc.constantFrom('prefix', 'suffix', 'replace', 'middle'));
  return fc.sample(arb, { seed, numRuns: count }).map(([field, chars, drawn]) => {
    // HTTP drops spaces and tabs around a header value (RFC 9110 §5.5): there they change nothing, so put them inside.
    const how = field.startsWith('header.') && /^[ \t]+$/.test(chars) && drawn !== 'replace' ? 'middle' : drawn;
    const event = claimEvent(ctx);
    const put = (value: string) => (how === 'prefix' ? `${chars}${value}` : how === 'suffix' ? `${value}${chars}` : how === 'replace' ? chars : `${value.slice(0, 1)}${chars}${value.slice(1)}`);
    if (!field.startsWith('header.')) {
      const keys = field.split('.');
      let at: any = event;
      for (const key of keys.slice(0, -1)) at = at[key];
      const last = keys[keys.length - 1]!;
      at[last] = put(String(at[last] ?? 'hook'));
      return post('control_and_shell_chars', `${JSON.stringify(chars)} ${how} ${field}`, ctx, JSON.stringify(event));
    }
    const body = JSON.stringify(event);
    const headers = signed(ctx, body);
    const name = `x-vipswitch-${field.slice('header.'.length)}`;
    const value = put(headers[name]!);
    // Node's HTTP client refuses control bytes in a header; those go on the raw socket (and Node's server refuses them).
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value) || /[^\u0000-\u00ff]/.test(value)) {
      const lines = Object.entries({ ...headers, [name]: value }).map(([k, v]) => `${k}: ${v}`);
      const rawValue = `POST ${EVENTS} HTTP/1.1\r\nhost: 127.0.0.1\r\n${lines.join('\r\n')}\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
      return { category: 'control_and_shell_chars', label: `${JSON.stringify(chars)} ${how} ${name} (raw)`, method: 'POST', path: EVENTS, headers: {}, raw: Buffer.from(rawValue, 'utf8').toString('latin1') };
    }
    return post('control_and_shell_chars', `${JSON.stringify(chars)} ${how} ${name}`, ctx, body, { ...headers, [name]: value });
  });
}

/** Every method on known, near and unknown paths, some of them hostile; and methods no HTTP client sends. */
function methodsAndPaths(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const segment = fc.oneof(
    fc.constantFrom('v1', 'events', 'clusters', ctx.cluster, '..', '.', '', '%2e%2e', '%2f', '%00', '%ff', '%zz', '%', ';', '$(id)', '`id`', '|', '*', '~', '%0d%0aX-Injected:%20yes', 'x'.repeat(2000)),
    fc.string({ minLength: 1, maxLength: 16 }).map((s) => pathSegment(s)),
  );
  const path = fc.array(segment, { minLength: 1, maxLength: 5 }).map((parts) => `/${parts.join('/')}`);
  const arb = fc.tuple(fc.constantFrom(...METHODS), fc.oneof(fc.constantFrom('/', EVENTS, `${EVENTS}/`, '/v1', '/v1/clusters', `/v1/clusters/${ctx.cluster}/x`, `/V1/EVENTS`, '/v2/events', '//v1/events', '/v1//events', `${EVENTS}?a=$(id)`), path));
  const fixed: HostileRequest[] = [];
  for (const method of METHODS) {
    if (method !== 'POST') fixed.push({ category: 'methods_and_paths', label: `${method} ${EVENTS}`, method, path: EVENTS, headers: {}, expect: [405] });
    if (method !== 'GET' && method !== 'HEAD') fixed.push({ category: 'methods_and_paths', label: `${method} /v1/clusters/${ctx.cluster}`, method, path: `/v1/clusters/${ctx.cluster}`, headers: {}, expect: [405] });
    fixed.push({ category: 'methods_and_paths', label: `${method} /`, method, path: '/', headers: {}, expect: [404] });
  }
  for (const [label, line] of [
    ['unknown method FOO', `FOO ${EVENTS} HTTP/1.1`],
    ['lower-case method', `post ${EVENTS} HTTP/1.1`],
    ['CONNECT', `CONNECT 127.0.0.1:1 HTTP/1.1`],
    ['absolute URI', `GET http://evil.example/v1/events HTTP/1.1`],
    ['HTTP/0.9 style', `GET ${EVENTS}`],
    ['space in path', `GET /v1/clusters/a b HTTP/1.1`],
    ['Upgrade: websocket', `GET ${EVENTS} HTTP/1.1\r\nupgrade: websocket\r\nconnection: Upgrade`],
    ['HTTP/1.0 without host', `DELETE ${EVENTS} HTTP/1.0`],
  ] as const) {
    fixed.push({ category: 'methods_and_paths', label, method: label, path: EVENTS, headers: {}, raw: `${line}\r\nhost: 127.0.0.1\r\n\r\n` });
  }
  const random: HostileRequest[] = fc.sample(arb, { seed, numRuns: Math.max(0, count - fixed.length) }).map(([method, p]) => ({ category: 'methods_and_paths', label: `${method} ${p.slice(0, 60)}`, method, path: p, headers: {} }));
  // A GET or HEAD of a registered cluster's status is no hostile request, however its path is spelled: drop those.
  return [...fixed, ...random].filter((r) => r.raw !== undefined || !(['GET', 'HEAD'].includes(r.method) && namesStatusOf(r.path, ctx.cluster)));
}

/** Percent-encode every byte but the unreserved ones (a lone surrogate becomes U+FFFD's bytes, as Buffer writes it). */
function pathSegment(text: string): string {
  return [...Buffer.from(text, 'utf8')].map((byte) => (/[A-Za-z0-9_.~-]/.test(String.fromCharCode(byte)) ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`)).join('');
}

/**
 * True when `path`, decoded and normalised as a router might (dot segments, empty segments, case), is a read the API
 * answers 200 to: the cluster's status, the fleet, the status page (of the fleet or of the cluster).
 */
function namesStatusOf(path: string, cluster: string): boolean {
  const segments: string[] = [];
  for (const part of path.split('?')[0]!.split('/')) {
    let decoded = part;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      /* kept as sent */
    }
    if (decoded === '' || decoded === '.') continue;
    if (decoded === '..') segments.pop();
    else segments.push(decoded.toLowerCase());
  }
  const c = cluster.toLowerCase();
  const [a, b, d] = segments;
  if (segments.length === 3) return a === 'v1' && b === 'clusters' && d!.trim() === c;
  if (segments.length === 2) return (a === 'v1' && b === 'clusters') || (a === 'status' && b!.trim() === c);
  return segments.length === 1 && a === 'status';
}

/** The status API: hostile cluster ids and journal limits. */
function statusApi(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const id = fc.oneof(
    fc.constantFrom(...SHELL, ...CONTROL).map((c) => `pg${c}main`),
    fc.string({ minLength: 1, maxLength: 80 }),
    fc.constantFrom('a'.repeat(64), '-x', '.x', '_x', 'ü', 'no-such-cluster', ctx.cluster.toUpperCase(), `${ctx.cluster} `, '%', '..'),
  );
  const limit = fc.oneof(fc.constantFrom('-1', '201', '1e2', '0x10', '1.5', '', ' ', 'abc', '$(id)', '9'.repeat(40), '20&journal=30', '20%00'), fc.string({ maxLength: 8 }).filter((s) => !/^\s*\d{1,3}\s*$/.test(s) || Number(s) > 200));
  // The fleet API (GET /v1/clusters): a limit that is not an integer 1..100, a next that no page answered with.
  const fleetLimit = fc.oneof(fc.constantFrom('0', '101', '-1', '1e2', '0x10', ' 5', '5 ', '', '$(id)', '9'.repeat(30)), fc.string({ maxLength: 8 }).filter((v) => !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 100));
  const fleetNext = fc.oneof(
    fc.constantFrom('x', '$(id)', '..', Buffer.from('{"v":2,"after":"pg-main"}').toString('base64url'), Buffer.from('{"v":1,"after":"$(reboot)"}').toString('base64url'), Buffer.from('{"v":1,"__proto__":{"after":"pg"}}').toString('base64url'), Buffer.from('[1]').toString('base64url')),
    fc.string({ minLength: 1, maxLength: 40 }),
  );
  const arb = fc.oneof(
    id.map((c) => ({ label: `cluster id ${JSON.stringify(c).slice(0, 40)}`, path: `/v1/clusters/${pathSegment(c)}`, html: false })),
    limit.map((l) => ({ label: `journal=${JSON.stringify(l).slice(0, 40)}`, path: `/v1/clusters/${ctx.cluster}?journal=${pathSegment(l)}`, html: false })),
    fleetLimit.map((l) => ({ label: `fleet limit=${JSON.stringify(l).slice(0, 40)}`, path: `/v1/clusters?limit=${pathSegment(l)}`, html: false })),
    fleetNext.map((n) => ({ label: `fleet next=${JSON.stringify(n).slice(0, 40)}`, path: `/v1/clusters?next=${pathSegment(n)}`, html: false })),
    // The status page, for a script (a refusal in {code, message}) or a browser (a refusal as a page).
    fc.tuple(id, fc.boolean()).map(([c, html]) => ({ label: `page of ${JSON.stringify(c).slice(0, 40)}${html ? ' (text/html)' : ''}`, path: `/status/${pathSegment(c)}`, html })),
  );
  return fc
    .sample(fc.tuple(arb, fc.constantFrom('GET', 'GET', 'GET', 'HEAD')), { seed, numRuns: count * 2 })
    .filter(([{ path }]) => {
      // Drop what is legitimately a 200: the registered cluster (its id in any spelling) with a valid journal limit.
      if (path.startsWith('/v1/clusters?')) return true;
      if (!namesStatusOf(path, ctx.cluster)) return true;
      if (path.startsWith('/status/')) return false;
      // The handler reads journal with Number(): '', ' ', '1e2' and '0x10' are integers 0..200 to it (lenient, harmless).
      const value = new URLSearchParams(path.split('?')[1] ?? '').get('journal');
      return !(value === null || (Number.isInteger(Number(value)) && Number(value) >= 0 && Number(value) <= 200));
    })
    .slice(0, count)
    .map(([{ label, path, html }, method]): HostileRequest => ({ category: 'status_api', label: `${method} ${label}`, method, path, headers: html ? { accept: 'text/html' } : {}, ...(html ? { html: true as const } : {}) }));
}

/** Pings (a signed no-op) with every field wrong. */
function pings(ctx: CorpusContext, count: number, seed: number): HostileRequest[] {
  const good = { v: 1, type: 'ping', id: `ping-${randomUUID()}`, cluster: ctx.cluster, node: 'node2', sentAt: new Date().toISOString() };
  const arb = fc.tuple(fc.constantFrom('v', 'id', 'sentAt', 'cluster', 'node', 'extra'), fc.constantFrom<unknown>(null, 0, 2, '', 'x', '$(id)', '\u0000', [], {}, 'short', 'not a date', 'node3', 'other'));
  return fc.sample(arb, { seed, numRuns: count }).map(([field, value]) => {
    const body: Record<string, unknown> = { ...good, id: `ping-${randomUUID()}` };
    if (field === 'extra') body.epoch = value;
    else body[field] = value;
    // A value that happens to be right for the field is no fault: make it wrong.
    if (field === 'node' && value === 'node2') body.node = 'node3';
    const text = JSON.stringify(body);
    return post('ping', `ping with ${field} = ${JSON.stringify(value)}`, ctx, text);
  });
}

/** Shares of the corpus per category (the rest of N goes to the generated categories in this proportion). */
const SHARE: Record<Category, number> = {
  malformed_json: 0.08,
  wrong_types: 0.14,
  extra_fields: 0.06,
  prototype_keys: 0.07,
  deep_nesting: 0.03,
  huge_bodies_headers: 0.04,
  non_utf8: 0.06,
  signature_faults: 0.08,
  replay_and_skew: 0.05,
  unknown_cluster_node: 0.05,
  control_and_shell_chars: 0.14,
  methods_and_paths: 0.1,
  status_api: 0.07,
  ping: 0.03,
};

/** The whole corpus for `n` requests (at least; fixed cases are never cut), from `seed`. */
export function buildCorpus(ctx: CorpusContext, n: number, seed: number): HostileRequest[] {
  const size = (category: Category) => Math.max(1, Math.round(SHARE[category] * n));
  const s = (i: number) => (seed + i * 7919) | 0;
  return [
    ...malformedJson(ctx, size('malformed_json'), s(1)),
    ...wrongTypes(ctx, size('wrong_types'), s(2)),
    ...extraFields(ctx, size('extra_fields'), s(3)),
    ...prototypeKeys(ctx, size('prototype_keys')),
    ...deepNesting(ctx, size('deep_nesting'), s(4)),
    ...hugeBodiesHeaders(ctx, size('huge_bodies_headers')),
    ...nonUtf8(ctx, size('non_utf8'), s(5)),
    ...signatureFaults(ctx, size('signature_faults'), s(6)),
    ...replayAndSkew(ctx, size('replay_and_skew'), s(7)),
    ...unknownClusterNode(ctx, size('unknown_cluster_node'), s(8)),
    ...controlAndShell(ctx, size('control_and_shell_chars'), s(9)),
    ...methodsAndPaths(ctx, size('methods_and_paths'), s(10)),
    ...statusApi(ctx, size('status_api'), s(11)),
    ...pings(ctx, size('ping'), s(12)),
  ];
}

/** Strings that are free text by contract (carried verbatim, never parsed), with what R3 puts in them. */
export const FREE_TEXT_SAMPLES = [...SHELL, ...CONTROL.filter((c) => c !== '\ud800'), `${SHELL.join(' ')}`, `"; DROP TABLE events; --`, '%t %d %a %c %p', '\\u0000'];
