import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { DescribeLag } from './describe-lag';
import { EC2_HANDLERS, EC2_VERSION, EC2_XMLNS, handleEc2 } from './ec2';
import { AwsServiceError } from './errors';
import { FaultInjector, type FaultRule, FaultRuleError, type ServiceName, validateFaultRules } from './faults';
import { type LatencyProfile, type LatencyProfileName, LatencySampler, resolveLatencyProfile, seededRandom } from './latency';
import { QueryParams } from './query-params';
import { handleRoute53, identifyRoute53, ROUTE53_VERSION, ROUTE53_XMLNS, summariseChangeBatch } from './route53';
import { handleSns, SIGNING_CERT_PATH, SNS_HANDLERS, SNS_VERSION, SNS_XMLNS, SnsDeliverer, type SnsDeliveryOptions } from './sns';
import { snsSigner } from './sns-signing';
import { STS_ACTIONS, STS_VERSION, STS_XMLNS, StsService, type StsRole } from './sts';
import { AwsWorld, type StateView } from './state';
import { type Topology, TopologyError, validateTopology } from './topology';
import { escapeXml, renderXml, type XmlObject } from './xml';

/** Options of {@link startAwsEndpoint}. */
export interface AwsEndpointOptions {
  /** TCP port on 127.0.0.1; 0 (the default) picks a free one. */
  port?: number;
  /** What the account holds at start (validated; a bad one throws {@link TopologyError}). */
  topology: Topology;
  /**
   * How long every Route 53 change stays PENDING before INSYNC. When set it wins over the latency profile's
   * `route53InsyncMs`; unset, the profile decides (100 ms under `instant`).
   */
  route53InsyncAfterMs?: number;
  /**
   * How AWS-like the timing is: `instant` (the default: answers at once, INSYNC after 100 ms, Describe never lags),
   * `aws`, or a hand-made {@link LatencyProfile}. See README.md, "Latency profiles".
   */
  latency?: LatencyProfileName | LatencyProfile;
  /**
   * Seed for every random draw of the endpoint (profile latencies, stale reads, INSYNC delays, fault `rate`), so a
   * run repeats. Ignored when `random` is given.
   */
  seed?: number;
  /** The endpoint's source of chance, in [0, 1) (wins over `seed`); default `Math.random`. */
  random?: () => number;
  /** How long `stopping`→`stopped` and `pending`→`running` take; default 0 (done by the next read). */
  instanceTransitionMs?: number;
  /** SNS HTTP delivery retry policy; default 3 attempts, 100 ms backoff doubling, 2 s per attempt. */
  snsDelivery?: Partial<SnsDeliveryOptions>;
  /** Receives one line per AWS call and per notable event. */
  log?: (line: string) => void;
  /** STS: the roles AssumeRole grants (default: every well-formed role ARN); also `endpoint.sts.allowRoles()`. */
  sts?: { roles?: StsRole[] };
}

/** One AWS call as the endpoint saw it. */
export interface CallRecord {
  /** 1, 2, 3… in arrival order. */
  seq: number;
  /** Arrival time, ISO 8601. */
  at: string;
  service: ServiceName | 'sts' | 'unknown';
  action: string;
  /** Request parameters (Query) or path + query and a change summary (Route 53); long values cut. */
  params: Record<string, string>;
  /** HTTP status answered; `null` while in progress or for a call left hanging by a fault rule. */
  status: number | null;
  /** AWS error code answered, if any. */
  errorCode: string | null;
  /** Milliseconds from arrival to answer (`null` while unanswered); includes profile and fault latency. */
  ms: number | null;
  /** Which injected fault shaped the answer, if any. */
  fault: 'error' | 'latency' | 'hang' | null;
  /** Latency the profile added to this call, in ms (0 under `instant`; fault latency not included). */
  profileLatencyMs: number;
  /** True when a Describe call was answered from the lagging view (resources as they were before a recent change). */
  staleRead: boolean;
  requestId: string;
  /** The access key that signed the call (SigV4 `Credential=`), null when unsigned: which account or role acted. */
  accessKeyId: string | null;
}

/** A running endpoint. */
export interface AwsEndpoint {
  /** `http://127.0.0.1:PORT`, for `endpoint` / `AWS_ENDPOINT_URL` / `--endpoint-url`. */
  readonly url: string;
  readonly port: number;
  /** A snapshot of every resource (see {@link StateView}). */
  state(): StateView;
  /** Every AWS call so far (at most the latest 10 000), oldest first. */
  calls(): CallRecord[];
  /** The local STS: which roles may be assumed, and the credentials it handed out. */
  readonly sts: StsService;
  /** Replace the fault rules (validated; throws {@link FaultRuleError}). An empty list removes them all. */
  setFaults(rules: FaultRule[]): void;
  /** Throw the account away and start again from `topology` (faults and the call log are kept). */
  reset(topology: Topology): void;
  /** Stop listening, drop open connections (hung ones included), stop SNS deliveries. */
  close(): Promise<void>;
}

const MAX_CALLS = 10_000;
const MAX_BODY_BYTES = 1024 * 1024;

/** The request is too large to read; answered 413 before any AWS handling. */
class BodyTooLargeError extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new BodyTooLargeError(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The `service` of a SigV4 credential scope (`Credential=AKID/20261122/us-east-1/ec2/aws4_request`). */
function signedService(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  if (auth === undefined) return undefined;
  return /Credential=[^/,\s]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(auth)?.[1];
}

/** The access key of a SigV4-signed request, or null. */
function signingKey(req: IncomingMessage): string | null {
  return /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1] ?? null;
}

/** A Query request's service: the signature's scope first, then Version, then which service knows the Action. */
function queryService(req: IncomingMessage, params: QueryParams): ServiceName | 'sts' | 'unknown' {
  const scoped = signedService(req);
  if (scoped === 'ec2' || scoped === 'sns' || scoped === 'sts') return scoped;
  if (scoped !== undefined) return 'unknown';
  const version = params.get('Version');
  if (version === EC2_VERSION) return 'ec2';
  if (version === SNS_VERSION) return 'sns';
  if (version === STS_VERSION) return 'sts';
  const action = params.get('Action') ?? '';
  if (SNS_HANDLERS[action] !== undefined) return 'sns';
  if (EC2_HANDLERS[action] !== undefined) return 'ec2';
  if (STS_ACTIONS.has(action)) return 'sts';
  return 'unknown';
}

interface Reply {
  status: number;
  body: string;
  errorCode: string | null;
}

function ec2Error(err: AwsServiceError, requestId: string): Reply {
  return {
    status: err.status,
    errorCode: err.code,
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${escapeXml(err.code)}</Code><Message>${escapeXml(err.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
  };
}

function errorResponse(err: AwsServiceError, requestId: string, xmlns: string): Reply {
  const error: XmlObject = { Type: err.faultType, Code: err.code, Message: err.message, ...(err.extra ?? {}) };
  return { status: err.status, errorCode: err.code, body: renderXml('ErrorResponse', { Error: error, RequestId: requestId }, xmlns) };
}

/**
 * Wait at least `ms` (fractional) unless the signal aborts first. Node's timers work in whole milliseconds off a
 * cached loop clock and may fire up to ~1 ms early, so the wait re-arms for whatever remains on the monotonic clock:
 * a call's recorded duration never comes out shorter than its profile latency.
 */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const until = performance.now() + ms;
    let timer: NodeJS.Timeout;
    const onAbort = (): void => {
      clearTimeout(timer);
      resolve(false);
    };
    const arm = (): void => {
      const left = until - performance.now();
      if (left <= 0) {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
        return;
      }
      timer = setTimeout(arm, Math.ceil(left));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    arm();
  });
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value, null, 2);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Start the local AWS endpoint: EC2 (Query), Route 53 (REST-XML) and SNS (Query) on one 127.0.0.1 port,
 * answering in AWS's own wire formats so unmodified SDK v3 clients and awscli work against it, plus a JSON
 * control plane under `/_local/` (state, call log, faults, reset).
 */
export async function startAwsEndpoint(opts: AwsEndpointOptions): Promise<AwsEndpoint> {
  let topology = validateTopology(opts.topology);
  let world = new AwsWorld(topology);
  const log = opts.log ?? (() => undefined);
  // Separate streams under a seed, so adding a latency profile does not change which fault rules fire.
  const random = opts.random ?? (opts.seed === undefined ? Math.random : seededRandom(opts.seed));
  const faultRandom = opts.random ?? (opts.seed === undefined ? Math.random : seededRandom(opts.seed ^ 0x5bd1e995));
  const sampler = new LatencySampler(resolveLatencyProfile(opts.latency), random);
  const lag = new DescribeLag();
  const faults = new FaultInjector(faultRandom);
  const callLog: CallRecord[] = [];
  let seq = 0;
  const lifetime = new AbortController();
  const sockets = new Set<Socket>();
  const signer = snsSigner();
  const deliverer = new SnsDeliverer({ attempts: 3, backoffMs: 100, timeoutMs: 2000, ...(opts.snsDelivery ?? {}) }, log);
  const fixedInsync = opts.route53InsyncAfterMs;
  const route53Options = { insyncAfterMs: () => fixedInsync ?? sampler.insyncDelayMs() };
  const ec2Options = { instanceTransitionMs: opts.instanceTransitionMs ?? 0 };
  const sts = new StsService({ accountId: topology.accountId });
  if (opts.sts?.roles) sts.allowRoles(opts.sts.roles);
  let baseUrl = '';

  const record = (service: CallRecord['service'], action: string, params: Record<string, string>, requestId: string, accessKeyId: string | null = null): CallRecord => {
    const call: CallRecord = {
      seq: ++seq,
      at: new Date().toISOString(),
      service,
      action,
      params,
      status: null,
      errorCode: null,
      ms: null,
      fault: null,
      profileLatencyMs: 0,
      staleRead: false,
      requestId,
      accessKeyId,
    };
    callLog.push(call);
    if (callLog.length > MAX_CALLS) callLog.splice(0, callLog.length - MAX_CALLS);
    return call;
  };

  const reset = (next: Topology): void => {
    topology = validateTopology(next);
    world = new AwsWorld(topology);
    lag.clear();
  };

  /**
   * Run one AWS call through the fault rules, then the handler inside the profile's latency; write the answer
   * unless it hangs.
   */
  const serveAws = async (
    res: ServerResponse,
    service: ServiceName | 'unknown',
    action: string,
    params: Record<string, string>,
    run: (requestId: string, call: CallRecord) => Reply,
    fail: (err: AwsServiceError, requestId: string) => Reply,
    accessKeyId: string | null = null,
  ): Promise<void> => {
    const requestId = randomUUID();
    const started = performance.now();
    const call = record(service, action, params, requestId, accessKeyId);
    let reply: Reply;
    if (service === 'unknown') {
      reply = fail(new AwsServiceError('InvalidAction', `The local AWS endpoint serves ec2, route53 and sns; this request is for none of them`), requestId);
    } else {
      const decision = faults.decide(service, action);
      if (decision.latencyMs > 0) {
        call.fault = 'latency';
        if (!(await sleep(decision.latencyMs, lifetime.signal))) return;
      }
      if (decision.hang) {
        // Never answered: the socket stays open until the client gives up or the endpoint closes.
        call.fault = 'hang';
        log(`${service} ${action} hanging (fault rule)`);
        return;
      }
      // The profile's latency comes on top of any fault latency. The call takes effect at a random point inside
      // it, as on AWS: a client that gives up before the answer cannot tell whether the change happened.
      const profileMs = sampler.callLatencyMs(service, action);
      call.profileLatencyMs = profileMs;
      const beforeMs = profileMs > 0 ? Math.round(profileMs * sampler.fraction() * 100) / 100 : 0;
      if (beforeMs > 0 && !(await sleep(beforeMs, lifetime.signal))) return;
      if (decision.error !== undefined) {
        call.fault = 'error';
        reply = fail(new AwsServiceError(decision.error.code, decision.error.message, decision.error.status), requestId);
      } else {
        try {
          reply = run(requestId, call);
        } catch (err) {
          if (!(err instanceof AwsServiceError)) {
            log(`${service} ${action} internal error: ${(err as Error).stack ?? String(err)}`);
          }
          reply = fail(err instanceof AwsServiceError ? err : new AwsServiceError('InternalError', 'An internal error has occurred', 500), requestId);
        }
      }
      const afterMs = profileMs - beforeMs;
      if (afterMs > 0 && !(await sleep(afterMs, lifetime.signal))) return;
    }
    call.status = reply.status;
    call.errorCode = reply.errorCode;
    call.ms = Math.round((performance.now() - started) * 100) / 100;
    log(`${service} ${action} ${reply.status}${reply.errorCode === null ? '' : ` ${reply.errorCode}`} ${call.ms}ms${call.staleRead ? ' (stale read)' : ''}`);
    if (res.destroyed) return;
    res.writeHead(reply.status, {
      'content-type': 'text/xml;charset=UTF-8',
      'content-length': Buffer.byteLength(reply.body),
      'x-amzn-requestid': requestId,
    });
    res.end(reply.body);
  };

  /**
   * One EC2 action against the account. A Describe inside a lag window may be answered from the lagging view; a
   * mutation records what it changed so later Describes can lag behind it.
   */
  const runEc2 = (action: string, params: QueryParams, call: CallRecord): XmlObject => {
    if (!sampler.lagEnabled) return handleEc2(world, action, params, ec2Options);
    const now = Date.now();
    if (action.startsWith('Describe')) {
      if (lag.lagging(now) && sampler.staleRead()) {
        call.staleRead = true;
        return handleEc2(lag.staleView(world, now), action, params, ec2Options);
      }
      return handleEc2(world, action, params, ec2Options);
    }
    const before = lag.snapshot(world);
    try {
      return handleEc2(world, action, params, ec2Options);
    } finally {
      // Even a failed call is compared: whatever it did change lags like any other change.
      lag.record(world, before, Date.now(), sampler.describeLagMs());
    }
  };

  const serveQuery = async (req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<void> => {
    // Query requests may carry parameters in the query string (GET, e.g. SubscribeURL) or the form body (POST).
    const merged = new URLSearchParams(url.searchParams);
    if (req.method === 'POST') for (const [k, v] of new URLSearchParams(body)) merged.set(k, v);
    const params = new QueryParams(merged);
    const service = queryService(req, params);
    const action = params.get('Action') ?? '';
    const accessKeyId = signingKey(req);
    if (service === 'sts') return serveSts(res, action, params, accessKeyId);
    if (service === 'ec2') {
      await serveAws(
        res,
        'ec2',
        action,
        params.summary(),
        (requestId, call) => ({
          status: 200,
          errorCode: null,
          body: renderXml(`${action}Response`, { requestId, ...runEc2(action, params, call) }, EC2_XMLNS),
        }),
        ec2Error,
        accessKeyId,
      );
      return;
    }
    await serveAws(
      res,
      service,
      action,
      params.summary(),
      (requestId) => ({
        status: 200,
        errorCode: null,
        body: renderXml(`${action}Response`, { ...handleSns({ world, baseUrl, signer, deliverer }, action, params), ResponseMetadata: { RequestId: requestId } }, SNS_XMLNS),
      }),
      (err, requestId) => errorResponse(err, requestId, SNS_XMLNS),
      accessKeyId,
    );
  };

  /** STS, answered at once (no fault rules or latency profile apply to it), in the Query protocol's shapes. */
  const serveSts = (res: ServerResponse, action: string, params: QueryParams, accessKeyId: string | null): void => {
    const requestId = randomUUID();
    const started = performance.now();
    const call = record('sts', action, params.summary(), requestId, accessKeyId);
    let reply: Reply;
    try {
      reply = { status: 200, errorCode: null, body: renderXml(`${action}Response`, { ...sts.handle(action, params, accessKeyId), ResponseMetadata: { RequestId: requestId } }, STS_XMLNS) };
    } catch (err) {
      if (!(err instanceof AwsServiceError)) log(`sts ${action} internal error: ${(err as Error).stack ?? String(err)}`);
      reply = errorResponse(err instanceof AwsServiceError ? err : new AwsServiceError('InternalFailure', 'An internal error has occurred', 500), requestId, STS_XMLNS);
    }
    call.status = reply.status;
    call.errorCode = reply.errorCode;
    call.ms = Math.round((performance.now() - started) * 100) / 100;
    log(`sts ${action} ${reply.status}${reply.errorCode === null ? '' : ` ${reply.errorCode}`}`);
    if (res.destroyed) return;
    res.writeHead(reply.status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(reply.body), 'x-amzn-requestid': requestId });
    res.end(reply.body);
  };

  const serveRoute53 = async (req: IncomingMessage, res: ServerResponse, url: URL, body: string): Promise<void> => {
    const call = identifyRoute53(req.method ?? 'GET', url.pathname);
    const params: Record<string, string> = { method: req.method ?? 'GET', path: url.pathname };
    if (url.search !== '') params.query = url.search.slice(1);
    if (call.action === 'ChangeResourceRecordSets') params.changes = summariseChangeBatch(body);
    await serveAws(
      res,
      'route53',
      call.action,
      params,
      () => {
        const result = handleRoute53(world, call, url.searchParams, body, route53Options);
        return { status: 200, errorCode: null, body: renderXml(result.root, result.body, ROUTE53_XMLNS) };
      },
      (err, requestId) => errorResponse(err, requestId, ROUTE53_XMLNS),
      signingKey(req),
    );
  };

  const serveControl = (req: IncomingMessage, res: ServerResponse, url: URL, body: string): void => {
    const route = `${req.method ?? 'GET'} ${url.pathname.replace(/\/+$/, '')}`;
    const parseBody = (): unknown => (body.trim() === '' ? undefined : JSON.parse(body));
    try {
      switch (route) {
        case 'GET /_local/state':
          return sendJson(res, 200, world.view());
        case 'GET /_local/calls':
          return sendJson(res, 200, callLog);
        case 'GET /_local/faults':
          return sendJson(res, 200, faults.list());
        case 'POST /_local/faults': {
          const input = parseBody();
          // Accept a bare array or `{ "rules": [...] }`.
          const rules = typeof input === 'object' && input !== null && !Array.isArray(input) ? (input as { rules?: unknown }).rules : input;
          faults.set(validateFaultRules(rules));
          return sendJson(res, 200, faults.list());
        }
        case 'DELETE /_local/faults':
          faults.clear();
          return sendJson(res, 200, []);
        case 'POST /_local/reset': {
          const input = parseBody();
          reset(input === undefined ? topology : (input as Topology));
          return sendJson(res, 200, world.view());
        }
        case `GET ${SIGNING_CERT_PATH}`:
          res.writeHead(200, { 'content-type': 'application/x-pem-file' });
          return void res.end(signer.certificatePem);
        case 'GET /_local/health':
          return sendJson(res, 200, { ok: true });
        default:
          return sendJson(res, 404, { error: `no control route ${route}` });
      }
    } catch (err) {
      if (err instanceof SyntaxError) return sendJson(res, 400, { error: `invalid JSON: ${err.message}` });
      if (err instanceof FaultRuleError || err instanceof TopologyError) return sendJson(res, 400, { error: err.message, field: err.field });
      throw err;
    }
  };

  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      let body: string;
      try {
        body = await readBody(req);
      } catch (err) {
        if (err instanceof BodyTooLargeError && !res.destroyed) sendJson(res, 413, { error: err.message });
        return;
      }
      if (url.pathname.startsWith('/_local/')) return serveControl(req, res, url, body);
      if (url.pathname.startsWith(`/${ROUTE53_VERSION}/`) || url.pathname === `/${ROUTE53_VERSION}`) return serveRoute53(req, res, url, body);
      if (url.pathname === '/') return serveQuery(req, res, url, body);
      sendJson(res, 404, { error: `nothing at ${url.pathname}` });
    })().catch((err: unknown) => {
      log(`internal error: ${(err as Error).stack ?? String(err)}`);
      if (!res.headersSent && !res.destroyed) sendJson(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `http://127.0.0.1:${port}`;
  log(`local AWS endpoint listening on ${baseUrl} (latency profile ${sampler.profile.name})`);

  let closing: Promise<void> | undefined;
  return {
    url: baseUrl,
    port,
    state: () => world.view(),
    calls: () => callLog.map((c) => ({ ...c, params: { ...c.params } })),
    sts,
    setFaults: (rules) => faults.set(rules),
    reset,
    close: () => {
      closing ??= (async () => {
        lifetime.abort();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        // Hung and keep-alive connections would hold close() forever; end them.
        for (const socket of sockets) socket.destroy();
        await Promise.all([closed, deliverer.close()]);
      })();
      return closing;
    },
  };
}
