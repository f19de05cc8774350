// esbuild plugins of the Lambda bundles: serverless.yml (custom.esbuild.plugins, through serverless-esbuild, for
// `serverless deploy` and the local stack alike) and test/bench/fleet-cold-start.ts load this one file.
'use strict';

const { readFile } = require('node:fs/promises');
const { join } = require('node:path');

/**
 * The AWS SDK's schema files (`@aws-sdk/client-<service>/dist-es/schemas/schemas_0.js`, one per client since the SDK's
 * schema-based serde) describe every shape as a pure array, but traits are written with computed keys naming a
 * file-level string constant: `{ [_xN]: _c }`. esbuild keeps any object literal with a computed key (the key's
 * ToString could have a side effect: evanw/esbuild#4373, aws/aws-sdk-js-v3#7607), so no shape of such a file is ever
 * dropped: EC2's 4,000 shapes (541 KB minified) ship with one DescribeRouteTables.
 *
 * This rewrites such a key to the string the constant holds, `{ "xmlName": _c }`: the same object, a literal key,
 * and esbuild's tree shaking drops what no command reaches. Only keys that name a `const _x = "..."` of the same file
 * are touched; anything else is left as it is.
 */
const inlineSdkSchemaKeys = {
  name: 'vipswitch-inline-sdk-schema-keys',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/](?:submodules[\\/][^\\/]+[\\/])?schemas[\\/]schemas_\d+\.js$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const constants = new Map();
      for (const m of source.matchAll(/^const (_[A-Za-z0-9_$]*) = ("(?:[^"\\\n]|\\.)*");$/gm)) constants.set(m[1], m[2]);
      const contents = source.replace(/([{,]\s*)\[(_[A-Za-z0-9_$]*)\]:/g, (whole, before, name) => (constants.has(name) ? `${before}${constants.get(name)}:` : whole));
      return { contents, loader: 'js' };
    });
  },
};

/**
 * The SDK's default credential chain (`@aws-sdk/credential-provider-node`, which every client's runtime config imports)
 * replaced by functions/lambda-credentials.ts: the credentials Lambda puts in the environment, the only source a
 * function uses. The chain's SSO / STS / sign-in clients and its other providers (~90 KB minified) leave the bundles.
 */
const lambdaCredentials = {
  name: 'vipswitch-lambda-credentials',
  setup(build) {
    build.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({ path: join(__dirname, '..', 'functions', 'lambda-credentials.ts') }));
  },
};

module.exports = [inlineSdkSchemaKeys, lambdaCredentials];
