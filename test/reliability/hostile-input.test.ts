/**
 * R3, hostile input (issue 10): at least 500 generated requests against the local stack, each answered 4xx with
 * `{code, message}`; no 5xx; and no state change, checked on the state table (a Scan of DynamoDB Local before and
 * after), the journal, and the local AWS endpoint's call log. Figures are printed as JSON and as a table, and written
 * to bench/results/reliability/ (ignored by git).
 *
 *   CI form (npm test):        600 requests, pool of 8
 *   long form:                 VIPSWITCH_R3_N=5000 (npm run reliability sets it)
 *   replay a run:              VIPSWITCH_R3_SEED=<seed printed by the run>
 */
import { cpus } from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { LOCAL_NAMES, type LocalStack } from '../../local/stack';
import { localDynamoClient } from '../../local/dynamodb-local';
import { signedHeaders } from '../../shared/protocol/signature';
import { primaryFacts, registerCluster, ROOT, settled, startTestStack, SYSTEM_ID, type TestCluster } from '../support/local';
import { buildCorpus, CATEGORIES, FREE_TEXT_SAMPLES, type Category, type CorpusContext, type HostileRequest } from './hostile-input-corpus';

const LONG = process.env.VIPSWITCH_RELIABILITY === 'long';
const N = Number(process.env.VIPSWITCH_R3_N ?? (LONG ? 5000 : 600));
const SEED = Number(process.env.VIPSWITCH_R3_SEED ?? Date.now() % 2_147_483_647);
const POOL = Number(process.env.VIPSWITCH_R3_CONCURRENCY ?? 8);
const REQUEST_TIMEOUT_MS = 20_000;
const RESULTS = join(ROOT, 'bench/results/reliability');

interface Answer {
  status: number;
  body: string;
  error?: string;
}

/** One exchange with node:http: any method, path bytes and latin1 header bytes go out as written. */
function send(apiUrl: string, r: HostileRequest): Promise<Answer> {
  if (r.raw !== undefined) return sendRaw(apiUrl, r.raw);
  const { hostname, port } = new URL(apiUrl);
  return new Promise((resolve) => {
    const req = request({ host: hostname, port, method: r.method, path: r.path, headers: { ...r.headers, ...(r.body ? { 'content-length': String(r.body.length) } : {}) }, agent: false, timeout: REQUEST_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    // The server may answer (413) and close before it has read a huge body: the answer counts, not the write error.
    req.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
    req.end(r.body);
  });
}

function sendRaw(apiUrl: string, text: string): Promise<Answer> {
  const { hostname, port } = new URL(apiUrl);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    let data = Buffer.alloc(0);
    let done = false;
    const timer = setTimeout(() => socket.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    /** The first answer on the connection, once complete (head, and the body its content-length announces). */
    const parse = (): Answer | null => {
      const head = data.indexOf('\r\n\r\n');
      if (head < 0) return null;
      const headText = data.subarray(0, head).toString('latin1');
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(headText)?.[1] ?? 0);
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(headText)?.[1] ?? 0);
      if (data.length < head + 4 + length) return null;
      return { status, body: data.subarray(head + 4, head + 4 + length).toString('utf8') };
    };
    const finish = (answer: Answer) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(answer);
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const answer = parse();
      if (answer) finish(answer);
    });
    socket.on('error', (error) => finish(parse() ?? { status: 0, body: '', error: error.message }));
    socket.on('close', () => finish(parse() ?? { status: 0, body: '', error: 'connection closed without an answer' }));
    // No half-close: the server answers on an open connection, as it would to any client.
    socket.write(text, 'latin1');
  });
}

/** Run `work` over `items` with at most `size` in flight. */
async function pool<T, R>(items: readonly T[], size: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!, i);
      }
    }),
  );
  return results;
}

/** Everything observable that a request could change. */
async function snapshot(stack: LocalStack, clusters: TestCluster[]) {
  const client = localDynamoClient(stack.dynamodbEndpoint);
  const items: Record<string, AttributeValue>[] = [];
  try {
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: LOCAL_NAMES.state, ConsistentRead: true, ExclusiveStartKey: start }));
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  } finally {
    client.destroy();
  }
  const key = (item: Record<string, AttributeValue>) => `${item.pk?.S}|${item.sk?.S}`;
  items.sort((a, b) => key(a).localeCompare(key(b)));
  const journals = await Promise.all(clusters.map((c) => stack.store.readJournal(c.name, 1000)));
  const calls = stack.aws.calls();
  return {
    table: JSON.stringify(items),
    items: items.length,
    journal: JSON.stringify(journals),
    journalEntries: journals.reduce((n, j) => n + j.length, 0),
    lastCall: calls.length === 0 ? 0 : calls[calls.length - 1]!.seq,
    aws: JSON.stringify(stack.aws.state()),
  };
}

interface Outcome {
  request: HostileRequest;
  answer: Answer;
  code: string | null;
  problem: string | null;
}

/** The invariant of one answer: 4xx, a JSON body with string code and message (HEAD: no body by definition). */
function judge(request: HostileRequest, answer: Answer): Outcome {
  let code: string | null = null;
  let problem: string | null = null;
  if (answer.status === 0) problem = `no answer (${answer.error ?? 'connection closed'})`;
  else if (answer.status >= 500) problem = `5xx: ${answer.status}`;
  else if (answer.status < 400) problem = `not refused: ${answer.status}`;
  else if (request.expect && !request.expect.includes(answer.status)) problem = `status ${answer.status}, expected ${request.expect.join(' or ')}`;
  if (request.method !== 'HEAD' && !request.html && answer.status !== 0) {
    try {
      const parsed = JSON.parse(answer.body) as { code?: unknown; message?: unknown };
      if (typeof parsed.code === 'string' && typeof parsed.message === 'string') code = parsed.code;
      else problem ??= 'body without string code and message';
    } catch {
      problem ??= 'body is not JSON';
    }
  }
  return { request, answer, code, problem };
}

function table(rows: (string | number)[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r: (string | number)[]) => `| ${r.map((c, i) => (typeof c === 'number' ? String(c).padStart(widths[i]!) : String(c).padEnd(widths[i]!))).join(' | ')} |`;
  return [line(rows[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.slice(1).map(line)].join('\n');
}

describe('R3: hostile input is refused with {code, message}, never a 5xx, and changes nothing', () => {
  let stack: LocalStack;
  let a: TestCluster;
  let b: TestCluster;
  let ctx: CorpusContext;

  beforeAll(async () => {
    stack = await startTestStack();
    [a, b] = [await registerCluster(stack), await registerCluster(stack)];
    const accepted: CorpusContext['accepted'] = [];
    // The history the corpus runs against: node1 primary on timeline 1 in both clusters, node3 a standby.
    for (const [cluster, node, type, facts] of [
      [a, 'node1', 'repmgrd_start', primaryFacts(1)],
      [a, 'node3', 'repmgrd_start', { inRecovery: true, timeline: 1, lsn: '0/3000060', systemIdentifier: SYSTEM_ID }],
      [b, 'node1', 'repmgrd_start', primaryFacts(1)],
    ] as const) {
      const n = cluster.nodes[node]!;
      const at = new Date().toISOString();
      const body = JSON.stringify({ v: 1, id: `r3-setup-${cluster.name}-${node}`, cluster: cluster.name, node, source: 'repmgr', type, success: true, role: null, occurredAt: at, details: '', facts, raw: { argv: [String(n.id), type, '1'], occurredAtFrom: 'hook' } });
      const headers = signedHeaders(cluster.name, node, n.key, body, Date.now() / 1000);
      const response = await fetch(stack.eventsUrl, { method: 'POST', headers, body });
      expect(response.status).toBeLessThan(300);
      if (cluster === a) accepted.push({ headers, body });
    }
    await settled(stack, a);
    await settled(stack, b);
    const keys = (c: TestCluster) => ({ node1: { name: 'node1', id: 1, key: c.nodes.node1!.key }, node2: { name: 'node2', id: 2, key: c.nodes.node2!.key }, node3: { name: 'node3', id: 3, key: c.nodes.node3!.key } });
    ctx = { cluster: a.name, otherCluster: b.name, nodes: keys(a), otherNodes: keys(b), systemIdentifier: SYSTEM_ID, replayWindowSeconds: 300, accepted, now: () => Math.floor(Date.now() / 1000) };
  }, 120_000);

  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
    await stack?.stop();
  });

  it(`${N} generated requests (seed from VIPSWITCH_R3_SEED or the clock): 4xx with {code, message}, no 5xx, no state change`, async () => {
    // Arrange
    const corpus = buildCorpus(ctx, N, SEED);
    const before = await snapshot(stack, [a, b]);

    // Act
    const started = performance.now();
    const outcomes = await pool(corpus, POOL, async (r) => judge(r, await send(stack.apiUrl, r)));
    const elapsedMs = Math.round(performance.now() - started);
    // Anything that slipped through would have triggered the actuator: let it finish before looking.
    await stack.trigger.idle();
    const after = await snapshot(stack, [a, b]);

    // Figures
    const violations = outcomes.filter((o) => o.problem !== null);
    const state = { tableUnchanged: before.table === after.table, journalUnchanged: before.journal === after.journal, awsCallsUnchanged: before.lastCall === after.lastCall, awsStateUnchanged: before.aws === after.aws };
    const perCategory = Object.fromEntries(
      CATEGORIES.map((category) => {
        const mine = outcomes.filter((o) => o.request.category === category);
        const count = (f: (o: Outcome) => string) => Object.fromEntries([...mine.reduce((m, o) => m.set(f(o), (m.get(f(o)) ?? 0) + 1), new Map<string, number>())].sort());
        return [category, { requests: mine.length, statuses: count((o) => String(o.answer.status)), codes: count((o) => o.code ?? (o.request.method === 'HEAD' ? '(HEAD: no body)' : o.request.html ? '(a page)' : '(none)')), violations: mine.filter((o) => o.problem !== null).length }];
      }),
    ) as Record<Category, { requests: number; statuses: Record<string, number>; codes: Record<string, number>; violations: number }>;
    const statuses = Object.fromEntries([...outcomes.reduce((m, o) => m.set(o.answer.status, (m.get(o.answer.status) ?? 0) + 1), new Map<number, number>())].sort((x, y) => x[0] - y[0]));
    const report = {
      suite: 'R3 hostile input',
      at: new Date().toISOString(),
      command: `VIPSWITCH_R3_N=${N} VIPSWITCH_R3_SEED=${SEED} npx jest test/reliability/hostile-input.test.ts`,
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version, platform: process.platform },
      seed: SEED,
      requests: outcomes.length,
      concurrency: POOL,
      elapsedMs,
      statuses,
      fivexx: outcomes.filter((o) => o.answer.status >= 500).length,
      perCategory,
      state: { ...state, tableItems: after.items, journalEntries: after.journalEntries, awsLastCallSeq: after.lastCall },
      violations: violations.length,
      violationSamples: violations.slice(0, 20).map((o) => ({ category: o.request.category, label: o.request.label, method: o.request.method, path: o.request.path.slice(0, 120), status: o.answer.status, problem: o.problem, body: o.answer.body.slice(0, 300) })),
    };
    const rows: (string | number)[][] = [['category', 'requests', 'statuses seen', 'codes seen (top 3)', 'violations']];
    for (const category of CATEGORIES) {
      const c = perCategory[category];
      const top = Object.entries(c.codes).sort((x, y) => y[1] - x[1]).slice(0, 3).map(([k, v]) => `${k} ${v}`).join(', ');
      rows.push([category, c.requests, Object.entries(c.statuses).map(([k, v]) => `${k}×${v}`).join(' '), top, c.violations]);
    }
    rows.push(['total', outcomes.length, Object.entries(statuses).map(([k, v]) => `${k}×${v}`).join(' '), '', violations.length]);
    const text = [
      `R3 hostile input: ${outcomes.length} requests in ${elapsedMs} ms (pool ${POOL}, seed ${SEED}) on ${report.machine.cpu} (${report.machine.cores} cores), node ${process.version}`,
      table(rows),
      `5xx: ${report.fivexx}; violations: ${violations.length}; state unchanged: table ${state.tableUnchanged} (${after.items} items), journal ${state.journalUnchanged} (${after.journalEntries} entries), AWS calls ${state.awsCallsUnchanged} (last seq ${after.lastCall}), AWS state ${state.awsStateUnchanged}`,
    ].join('\n');
    await mkdir(RESULTS, { recursive: true });
    await writeFile(join(RESULTS, 'r3-hostile-input.json'), `${JSON.stringify(report, null, 2)}\n`);
    await writeFile(join(RESULTS, 'r3-hostile-input.txt'), `${text}\n`);
    process.stdout.write(`\n${text}\n${JSON.stringify({ ...report, perCategory: undefined })}\n`);
    if (violations.length > 0) process.stdout.write(`replay with VIPSWITCH_R3_SEED=${SEED} VIPSWITCH_R3_N=${N}\n${JSON.stringify(report.violationSamples, null, 2)}\n`);

    // Assert
    expect(outcomes.length).toBeGreaterThanOrEqual(500);
    for (const category of CATEGORIES) expect(perCategory[category].requests).toBeGreaterThan(0);
    expect(report.violationSamples).toEqual([]);
    expect(state).toEqual({ tableUnchanged: true, journalUnchanged: true, awsCallsUnchanged: true, awsStateUnchanged: true });
  }, 120_000 + N * 100);

  it('free-text strings (details, role, argv after %n %e %s) with control and shell characters are carried verbatim, never run, never a 5xx', async () => {
    // Arrange: informational events from the standby node3 (inRecovery): recorded, nothing moves
    const node3 = a.nodes.node3!;
    const callsBefore = stack.aws.calls().length === 0 ? 0 : stack.aws.calls().at(-1)!.seq;
    const fields = ['details', 'role', 'argv3', 'argv6'] as const;
    const cases = FREE_TEXT_SAMPLES.flatMap((text, i) => fields.map((field) => ({ text, field, id: `r3-free-${SEED}-${i}-${field}` })));

    // Act
    const answers = await pool(cases, POOL, async ({ text, field, id }) => {
      const argv = ['3', 'repmgrd_start', '1', '2026-11-22 02:08:06.95677+00', 'monitoring', '', '', ''];
      if (field === 'argv3') argv[4] = text;
      if (field === 'argv6') argv[6] = text;
      const event = { v: 1, id, cluster: a.name, node: 'node3', source: 'repmgr', type: 'repmgrd_start', success: true, role: field === 'role' ? text.slice(0, 32) : null, occurredAt: new Date().toISOString(), details: field === 'details' ? text : 'monitoring', facts: { inRecovery: true, timeline: 1, lsn: '0/3000060', systemIdentifier: SYSTEM_ID }, raw: { argv } };
      const body = JSON.stringify(event);
      const response = await fetch(stack.eventsUrl, { method: 'POST', headers: signedHeaders(a.name, 'node3', node3.key, body, Date.now() / 1000), body });
      return { id, field, text, event, status: response.status, body: (await response.json()) as { code?: string } };
    });
    await stack.trigger.idle();

    // Assert: 200 ignored each, the journal holds each string as sent, no AWS call
    const journal = await stack.store.readJournal(a.name, 1000);
    const byId = new Map(journal.map((j) => [j.eventId, j]));
    const wrong = answers.filter((x) => x.status !== 200 || x.body.code !== 'ignored' || !isDeepStrictEqual(byId.get(x.id)?.event, x.event));
    const lastCall = stack.aws.calls().length === 0 ? 0 : stack.aws.calls().at(-1)!.seq;
    process.stdout.write(`R3 free text: ${answers.length} events with control / shell characters in details, role, argv: ${answers.length - wrong.length} answered 200 ignored and stored verbatim; AWS calls ${lastCall === callsBefore ? 'unchanged' : 'CHANGED'}\n`);
    expect(wrong.map((x) => ({ field: x.field, text: JSON.stringify(x.text), status: x.status, code: x.body.code }))).toEqual([]);
    expect(lastCall).toBe(callsBefore);
  }, 60_000);
});
