import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { startApiEdge, type ApiEdge } from './api-edge';
import { freePort } from './ports';
import { repoRoot } from './root';
import { waitFor } from './wait-for';

export interface ApiHost {
  url: string;
  stop(): Promise<void>;
}

const ROOT = repoRoot();

/**
 * The Lambdas behind a local API Gateway: serverless-offline (with serverless-esbuild) running this repo's
 * serverless.yml, stage `local`, on 127.0.0.1. `env` reaches the handlers (`localEnvironment: true`): that is how
 * the SDK clients find the local endpoints (AWS_ENDPOINT_URL_*), exactly as in AWS where they are unset.
 * Clients reach it through a thin edge on `httpPort` (./api-edge.ts): serverless-offline listens on a port of its own,
 * and what it or Node refuses before any route still answers with the contract's `{code, message}`.
 */
export async function startApiHost(options: { httpPort: number; lambdaPort: number; env: Record<string, string>; log?: (line: string) => void }): Promise<ApiHost> {
  const buildDir = `.local/build-${options.httpPort}-${process.pid}`;
  const offlinePort = await freePort();
  const child: ChildProcess = spawn(process.execPath, [join(ROOT, 'node_modules/serverless/bin/serverless.js'), 'offline', 'start', '--stage', 'local'], {
    cwd: ROOT,
    env: {
      ...process.env,
      ...options.env,
      VIPSWITCH_HTTP_PORT: String(offlinePort),
      VIPSWITCH_LAMBDA_PORT: String(options.lambdaPort),
      VIPSWITCH_BUILD_DIR: buildDir,
      SLS_TELEMETRY_DISABLED: '1',
      SLS_NOTIFICATIONS_MODE: 'off',
      SLS_DEPRECATION_DISABLE: '*',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  const collect = (d: Buffer) => {
    const text = d.toString();
    output = (output + text).slice(-20_000);
    if (options.log) for (const line of text.split('\n')) if (line.trim()) options.log(line);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const url = `http://127.0.0.1:${options.httpPort}`;
  let edge: ApiEdge | null = null;
  const stop = async () => {
    await edge?.stop();
    edge = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      try {
        process.kill(-child.pid!, 'SIGTERM');
      } catch {
        /* already gone */
      }
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    await rm(join(ROOT, buildDir), { recursive: true, force: true });
  };
  try {
    await waitFor(`the local API on ${url}`, 90_000, async () => {
      if (child.exitCode !== null) throw new Error(`serverless offline exited (${child.exitCode}):\n${output.slice(-3000)}`);
      return /Server ready/.test(output);
    }, 100);
    edge = await startApiEdge({ port: options.httpPort, upstreamPort: offlinePort });
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop };
}
