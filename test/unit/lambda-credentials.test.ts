/**
 * The Lambdas' credentials (functions/lambda-credentials.ts, in place of the SDK's default chain in the bundles): the
 * execution role's keys from the environment, read at each call; none is an error naming the variables.
 */
import { defaultProvider } from '../../functions/lambda-credentials';

describe('defaultProvider (Lambda bundles)', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('returns the environment keys, with the session token and expiration when set', async () => {
    process.env.AWS_ACCESS_KEY_ID = 'ASIAEXAMPLE';
    process.env.AWS_SECRET_ACCESS_KEY = 'secret';
    process.env.AWS_SESSION_TOKEN = 'token';
    process.env.AWS_CREDENTIAL_EXPIRATION = '2026-12-01T00:00:00Z';

    const credentials = await defaultProvider({ profile: 'ignored' })();

    expect(credentials).toEqual({ accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date('2026-12-01T00:00:00Z') });
  });

  it('reads the environment at each call, and without keys throws a CredentialsProviderError', async () => {
    const provider = defaultProvider();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;

    await expect(provider()).rejects.toMatchObject({ name: 'CredentialsProviderError', message: expect.stringContaining('AWS_ACCESS_KEY_ID') });
    process.env.AWS_ACCESS_KEY_ID = 'AKIALATER';
    process.env.AWS_SECRET_ACCESS_KEY = 'later';
    delete process.env.AWS_SESSION_TOKEN;
    delete process.env.AWS_CREDENTIAL_EXPIRATION;
    await expect(provider()).resolves.toEqual({ accessKeyId: 'AKIALATER', secretAccessKey: 'later' });
  });
});
