import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';
import type { ClusterSummary } from '../../shared/app/cluster-list';
import { LOCAL_STAGE } from '../../shared/config/names';
import { CliError, EXIT, UsageError } from './errors';

/** Where the stage's status API is, and who said so (for the messages). */
export interface ApiLocation {
  url: string;
  from: '--api' | 'VIPSWITCH_API_URL' | 'VIPSWITCH_API' | 'the local stack default';
}

/**
 * The stage's API base URL: `--api`, else VIPSWITCH_API_URL, else VIPSWITCH_API (what `npm start` prints and `keys`
 * reads), else for the local stage the local stack's default (127.0.0.1, VIPSWITCH_HTTP_PORT or 3000). Null for a
 * deployed stage nobody named a URL for. @throws UsageError when the URL is not http(s).
 */
export function apiLocation(stage: string, option: string | undefined, env: Readonly<Record<string, string | undefined>>): ApiLocation | null {
  const named: ApiLocation | null = option ? { url: option, from: '--api' } : env.VIPSWITCH_API_URL ? { url: env.VIPSWITCH_API_URL, from: 'VIPSWITCH_API_URL' } : env.VIPSWITCH_API ? { url: env.VIPSWITCH_API, from: 'VIPSWITCH_API' } : null;
  const found = named ?? (stage === LOCAL_STAGE ? { url: `http://127.0.0.1:${env.VIPSWITCH_HTTP_PORT || 3000}`, from: 'the local stack default' as const } : null);
  if (found === null) return null;
  let url: URL;
  try {
    url = new URL(found.url);
  } catch {
    throw new UsageError(`${found.from}: not a URL: ${JSON.stringify(found.url)} (the API's base, like https://abc123.execute-api.eu-west-1.amazonaws.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`${found.from}: not an http(s) URL: ${found.url}`);
  return { url: found.url.replace(/\/+$/, ''), from: found.from };
}

/** Bytes the signer hands over (smithy's SourceData). */
type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array => (typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data));

/** SHA-256 and its HMAC for the signer, from node:crypto (the SDK's own hash packages are not direct dependencies). */
class NodeSha256 {
  readonly #secret: string | Uint8Array | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret === undefined ? undefined : bytes(secret);
    this.#hash = this.#fresh();
  }

  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', this.#secret);
  }

  update(data: SourceData): void {
    this.#hash.update(bytes(data));
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#fresh();
  }
}

/** The region a request to `host` is signed for: an execute-api host names it; otherwise the environment's. */
function signingRegion(host: string, env: Readonly<Record<string, string | undefined>>): string {
  return /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(host)?.[1] ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
}

export interface FleetApiOptions {
  api: ApiLocation;
  env: Readonly<Record<string, string | undefined>>;
  /** Clusters a page (1..100). */
  pageSize?: number;
  /** Per request, ms. */
  timeoutMs?: number;
}

/**
 * The whole fleet from `GET /v1/clusters`, every page followed by its `next` token, signed with SigV4 for
 * `execute-api` (the route is IAM-authorised in AWS; the local stack ignores the signature) with the operator's
 * credentials (the SDK's default chain). @throws CliError exit 3 `api_not_reachable` naming the URL when nothing
 * answers, exit 3 `no_credentials` without credentials, exit 1 with the API's `{code, message}` for a refusal.
 */
export async function fetchFleet(options: FleetApiOptions): Promise<ClusterSummary[]> {
  const { api, env } = options;
  const base = new URL(api.url);
  const signer = new SignatureV4({ service: 'execute-api', region: signingRegion(base.hostname, env), credentials: defaultProvider(), sha256: NodeSha256 });
  const limit = String(options.pageSize ?? 100);
  const clusters: ClusterSummary[] = [];
  const seen = new Set<string>();
  let next: string | null = null;
  do {
    const query: Record<string, string> = next === null ? { limit } : { limit, next };
    const path = `${base.pathname.replace(/\/+$/, '')}/v1/clusters`;
    const url = `${base.origin}${path}?${new URLSearchParams(query).toString()}`;
    const request = { method: 'GET', protocol: base.protocol, hostname: base.hostname, ...(base.port ? { port: Number(base.port) } : {}), path, query, headers: { host: base.host, accept: 'application/json' } };
    let signed: { headers: Record<string, string> };
    try {
      signed = await signer.sign(request);
    } catch (error) {
      throw new CliError(EXIT.unreachable, 'no_credentials', `no AWS credentials to sign GET ${url} (the status API is IAM-authorised): ${(error as Error).message} (set AWS_PROFILE or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)`, { cause: error });
    }
    let response: Response;
    try {
      response = await fetch(url, { headers: signed.headers, signal: AbortSignal.timeout(options.timeoutMs ?? 15_000) });
    } catch (error) {
      const why = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
      throw new CliError(
        EXIT.unreachable,
        'api_not_reachable',
        `cannot reach the status API at ${api.url} (from ${api.from}): ${why}. Stage local: is the local stack running (npm start)? Another stage: pass its API URL with --api <url> or VIPSWITCH_API_URL (serverless info --stage <stage> prints it)`,
        { cause: error },
      );
    }
    const body = (await response.json().catch(() => null)) as { code?: string; message?: string; clusters?: ClusterSummary[]; next?: string | null } | null;
    if (!response.ok || body === null || !Array.isArray(body.clusters)) {
      const said = body?.code ? `${body.code}: ${body.message ?? ''}` : `HTTP ${response.status}`;
      const hint = response.status === 403 ? ' (IAM: the caller needs execute-api:Invoke on GET /v1/clusters of this API)' : '';
      throw new CliError(EXIT.failed, body?.code ?? 'api_error', `GET ${url} answered ${response.status} ${said}${hint}`);
    }
    clusters.push(...body.clusters);
    next = body.next ?? null;
    if (next !== null && seen.has(next)) throw new CliError(EXIT.failed, 'api_error', `GET ${api.url}/v1/clusters answered the same next token twice: stopped paging`);
    if (next !== null) seen.add(next);
  } while (next !== null);
  return clusters;
}
