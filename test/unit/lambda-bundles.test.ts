/**
 * The Lambda bundles as serverless.yml builds them (its custom.esbuild options and plugins, as the cold-start bench
 * reads them): each within issue 11's 500 KB, and what keeps them there still working (the SDK's schema shapes
 * tree-shaken, the default credential chain and zod's classic API left out). A new SDK release that changes the
 * schema files' form, or a new import of a whole package, fails here rather than in the next bench.
 */
import { build, type Metafile } from 'esbuild';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../local/root';
import { esbuildOptionsOf } from '../bench/fleet-cold-start';

const root = repoRoot();
const LIMIT = 500 * 1024;

async function bundles(): Promise<Array<{ name: string; bytes: number; inputs: Metafile['outputs'][string]['inputs'] }>> {
  const sls = parse(await readFile(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'error' }) as { functions: Record<string, { handler: string }>; custom: { esbuild: Record<string, any> } };
  const options = esbuildOptionsOf(root, sls.custom.esbuild);
  return Promise.all(
    Object.entries(sls.functions).map(async ([name, fn]) => {
      const result = await build({ ...options, sourcemap: false, entryPoints: [join(root, `${fn.handler.replace(/\.[^.]+$/, '')}.ts`)], outfile: join(root, '.bundle-check', `${name}.mjs`), write: false, metafile: true, logLevel: 'silent', absWorkingDir: root });
      const output = Object.values(result.metafile.outputs)[0]!;
      return { name, bytes: output.bytes, inputs: output.inputs };
    }),
  );
}

describe('Lambda bundles (serverless.yml custom.esbuild)', () => {
  let built: Awaited<ReturnType<typeof bundles>>;
  beforeAll(async () => {
    built = await bundles();
  }, 60_000);

  it('each is at most 500 KB minified', () => {
    expect(built.length).toBeGreaterThanOrEqual(7);
    for (const b of built) expect({ name: b.name, over: b.bytes > LIMIT }).toEqual({ name: b.name, over: false });
  });

  it('carry only the SDK shapes their commands reach, no default credential chain and no zod classic', () => {
    const kb = (inputs: Metafile['outputs'][string]['inputs'], pattern: RegExp) => Object.entries(inputs).filter(([file]) => pattern.test(file)).reduce((sum, [, i]) => sum + i.bytesInOutput, 0) / 1024;
    const actuate = built.find((b) => b.name === 'actuate')!;

    expect(kb(actuate.inputs, /@aws-sdk\/client-ec2\/dist-es\/schemas\//)).toBeLessThan(64);
    for (const b of built) {
      expect({ name: b.name, nested: kb(b.inputs, /@aws-sdk\/(nested-clients|credential-provider-node)\//), classic: kb(b.inputs, /zod\/v4\/classic\//) }).toEqual({ name: b.name, nested: 0, classic: 0 });
    }
  });
});
