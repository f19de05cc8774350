/**
 * The local AWS endpoint (local/aws-endpoint) as the aws-endpoint*.test.ts files drive it: one endpoint over the
 * example topology per test file, SDK v3 clients on it, awscli, and the example's ids those files share.
 */
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { Route53Client, type Route53ClientConfig } from '@aws-sdk/client-route-53';
import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { type AwsEndpoint, type AwsEndpointOptions, loadTopologyFile, startAwsEndpoint, type Topology } from '../../local/aws-endpoint/index';

const run = promisify(execFile);

export const EXAMPLE_TOPOLOGY = resolve(__dirname, '../../local/topology.example.json');
/** The example's VIP route (in both route tables, to node1's ENI). */
export const VIP = '10.0.255.10/32';
/** The example's private hosted zone. */
export const ZONE = 'Z0123456789ABCDEFGHIJ';
/** The example's SNS topic. */
export const TOPIC = 'arn:aws:sns:us-east-1:000000000000:vipswitch-pages';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };

/** SDK v3 clients on `url` with fake credentials and no retries (`maxAttempts: 1`) unless `config` says otherwise. */
export function ec2Client(url: string, config: Partial<EC2ClientConfig> = {}): EC2Client {
  return new EC2Client({ region: REGION, endpoint: url, credentials: CREDENTIALS, maxAttempts: 1, ...config });
}

export function route53Client(url: string, config: Partial<Route53ClientConfig> = {}): Route53Client {
  return new Route53Client({ region: REGION, endpoint: url, credentials: CREDENTIALS, maxAttempts: 1, ...config });
}

export function snsClient(url: string, config: Partial<SNSClientConfig> = {}): SNSClient {
  return new SNSClient({ region: REGION, endpoint: url, credentials: CREDENTIALS, maxAttempts: 1, ...config });
}

/** What an SDK v3 call rejects with: the modelled error's name and message, and the response metadata. */
export type SdkError = Error & { name: string; $metadata: { httpStatusCode?: number; requestId?: string; attempts?: number }; $retryable?: unknown };

/** The error an SDK call rejected with (fails the test if it resolved). */
export async function failure(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (err) {
    return err as SdkError;
  }
  throw new Error('expected the call to fail, it succeeded');
}

/** A test file's endpoint over the example topology, with one client per service on it (made on first use). */
export interface LocalAws {
  readonly topology: Topology;
  readonly endpoint: AwsEndpoint;
  readonly ec2: EC2Client;
  readonly route53: Route53Client;
  readonly sns: SNSClient;
}

/**
 * Register the test file's hooks: before all, start an endpoint over the example topology on an ephemeral port
 * (with `options`) and hand it to `use`; before each test, reset its state to the topology and clear its faults;
 * after all, destroy the clients that were made and close the endpoint.
 */
export function useLocalAws(options: Omit<AwsEndpointOptions, 'port' | 'topology'>, use: (aws: LocalAws) => void): void {
  let started: { topology: Topology; endpoint: AwsEndpoint } | undefined;
  const clients: { ec2?: EC2Client; route53?: Route53Client; sns?: SNSClient } = {};

  beforeAll(async () => {
    const topology = await loadTopologyFile(EXAMPLE_TOPOLOGY);
    const endpoint = await startAwsEndpoint({ port: 0, topology, ...options });
    started = { topology, endpoint };
    use({
      topology,
      endpoint,
      get ec2() {
        return (clients.ec2 ??= ec2Client(endpoint.url));
      },
      get route53() {
        return (clients.route53 ??= route53Client(endpoint.url));
      },
      get sns() {
        return (clients.sns ??= snsClient(endpoint.url));
      },
    });
  });

  afterAll(async () => {
    clients.ec2?.destroy();
    clients.route53?.destroy();
    clients.sns?.destroy();
    await started?.endpoint.close();
  });

  beforeEach(() => {
    started!.endpoint.reset(started!.topology);
    started!.endpoint.setFaults([]);
  });
}

/** Debian's awscli: a second, independent client (botocore's own parsers). */
const AWS_CLI = '/usr/bin/aws';

/** Environment with fake credentials and nothing from the developer's own AWS setup. */
function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AWS_')) env[k] = v;
  return {
    ...env,
    AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
    AWS_PAGER: '',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

/** Run awscli against the endpoint at `url`; resolves with exit code, stdout and stderr (a non-zero exit is a result, not an exception). */
export async function awsCli(url: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(AWS_CLI, ['--endpoint-url', url, '--region', REGION, '--output', 'json', ...args], { env: cliEnv(), timeout: 30_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    if (typeof e.code !== 'number') throw err;
    return { code: e.code, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}
