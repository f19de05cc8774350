/** What an SDK client signs with (the shape of the SDK's AwsCredentialIdentity). */
export interface LambdaCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

/**
 * The Lambdas' AWS credentials: the execution role's, from the environment Lambda sets (AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN), the one source a function has. The Lambda bundles use this in place of
 * the SDK's default chain (`@aws-sdk/credential-provider-node`, swapped at build time by scripts/esbuild-plugins.cjs):
 * that chain's other sources (SSO, profiles, web identity, containers, IMDS) brought ~90 KB of clients into every
 * bundle and are never used in Lambda (README, "Cold start and size"). The operator CLI keeps the full chain.
 * A role a cluster names (endpoints.assumeRoleArn) is still assumed through STS with these credentials.
 *
 * Same export as the package: `defaultProvider(init?)` returning a credential provider. Reads the environment at
 * each call (the SDK caches what it returns until `expiration`); throws when the keys are missing.
 */
export function defaultProvider(_init?: unknown): () => Promise<LambdaCredentials> {
  return async () => {
    const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken, AWS_CREDENTIAL_EXPIRATION: expiration } = process.env;
    if (!accessKeyId || !secretAccessKey) {
      throw Object.assign(new Error('no AWS credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY): Lambda sets them from the execution role'), { name: 'CredentialsProviderError' });
    }
    return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), ...(expiration ? { expiration: new Date(expiration) } : {}) };
  };
}
