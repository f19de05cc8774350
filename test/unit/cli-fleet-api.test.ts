/**
 * Where `vipswitch status` reads the fleet from: the status API's URL by option, environment or the local stage's
 * default, and no URL (the table) for a deployed stage nobody named one for.
 */
import { UsageError } from '../../cli/src/errors';
import { apiLocation } from '../../cli/src/fleet-api';

describe('apiLocation', () => {
  it('takes --api first, then VIPSWITCH_API_URL, then VIPSWITCH_API, without a trailing slash', () => {
    const env = { VIPSWITCH_API_URL: 'https://a.execute-api.eu-west-1.amazonaws.com/', VIPSWITCH_API: 'http://127.0.0.1:4000' };

    expect(apiLocation('prod', 'https://option.example/', env)).toEqual({ url: 'https://option.example', from: '--api' });
    expect(apiLocation('prod', undefined, env)).toEqual({ url: 'https://a.execute-api.eu-west-1.amazonaws.com', from: 'VIPSWITCH_API_URL' });
    expect(apiLocation('prod', undefined, { VIPSWITCH_API: env.VIPSWITCH_API })).toEqual({ url: 'http://127.0.0.1:4000', from: 'VIPSWITCH_API' });
  });

  it('the local stage defaults to the local stack on 127.0.0.1 (VIPSWITCH_HTTP_PORT or 3000)', () => {
    expect(apiLocation('local', undefined, {})).toEqual({ url: 'http://127.0.0.1:3000', from: 'the local stack default' });
    expect(apiLocation('local', undefined, { VIPSWITCH_HTTP_PORT: '3100' })).toEqual({ url: 'http://127.0.0.1:3100', from: 'the local stack default' });
  });

  it('a deployed stage with no URL named has none (the fleet is read from the table)', () => {
    expect(apiLocation('prod', undefined, {})).toBeNull();
  });

  it.each(['not a url', 'ftp://example.com'])('"%s" is a usage error', (url) => {
    expect(() => apiLocation('prod', url, {})).toThrow(UsageError);
  });
});
