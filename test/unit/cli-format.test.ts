/** The CLI's small pieces: --since and durations, the table, error classification, the local stage's defaults, naming. */
import { awsClientConfig, isUnreachable } from '../../shared/adapters/aws-clients';
import { stageNames } from '../../shared/config/names';
import { ConfigError } from '../../shared/domain/errors';
import { localStackDefaults } from '../../cli/src/context';
import { EXIT, toCliError } from '../../cli/src/errors';
import { ago, parseDuration, parseSince, table } from '../../cli/src/format';

const NOW = new Date('2026-11-22T02:00:00.000Z');

describe('CLI format', () => {
  it('parses --since as a duration back from now or an ISO time, and refuses anything else', () => {
    expect(parseSince('30m', NOW)?.toISOString()).toBe('2026-11-22T01:30:00.000Z');
    expect(parseSince('2h', NOW)?.toISOString()).toBe('2026-11-22T00:00:00.000Z');
    expect(parseSince('2026-11-21T00:00:00Z', NOW)?.toISOString()).toBe('2026-11-21T00:00:00.000Z');
    expect(parseSince('yesterday', NOW)).toBeNull();
    expect(parseSince('30', NOW)).toBeNull();
    expect(parseDuration('7d')).toBe(7 * 86_400_000);
  });

  it('prints a table like repmgr cluster show, "-" for empty cells', () => {
    expect(table(['Name', 'Role'], [['node1', 'primary'], ['node22', null]]).split('\n')).toEqual([' Name   | Role', '--------+---------', ' node1  | primary', ' node22 | -']);
    expect(ago('2026-11-22T01:59:30.000Z', NOW)).toBe('30 s ago');
    expect(ago(null, NOW)).toBe('-');
  });
});

describe('CLI errors', () => {
  it('a refused connection is exit 3, naming the endpoint', () => {
    const error = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' });

    const cli = toCliError(error, { env: { AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000' } });

    expect(isUnreachable(error)).toBe(true);
    expect(cli).toMatchObject({ exitCode: EXIT.unreachable, code: 'not_reachable', message: expect.stringContaining('http://127.0.0.1:8000') });
  });

  it('an AWS answer is not "unreachable"; a missing table names the stage; a bad cluster file lists its problems', () => {
    const throttled = Object.assign(new Error('slow down'), { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
    const noTable = Object.assign(new Error('Requested resource not found'), { name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 400 } });

    expect(isUnreachable(throttled)).toBe(false);
    expect(toCliError(noTable, { table: 'vipswitch-prod-state', env: {} })).toMatchObject({ exitCode: EXIT.failed, message: expect.stringMatching(/vipswitch-prod-state not found: wrong --stage/) });
    expect(toCliError(new ConfigError(['nodes.0.eni: required']), { env: {} })).toMatchObject({ exitCode: EXIT.failed, message: expect.stringContaining('nodes.0.eni: required') });
    expect(toCliError(new Error('Region is missing'), { env: {} })).toMatchObject({ exitCode: EXIT.usage });
  });
});

describe('one client factory, one naming', () => {
  it('bounds every client like the Lambdas: adaptive retries, connect and socket timeouts that throw', () => {
    expect(awsClientConfig()).toEqual({ maxAttempts: 4, retryMode: 'adaptive', requestHandler: { connectionTimeout: 1000, requestTimeout: 3000, throwOnRequestTimeout: true } });
    expect(awsClientConfig({ maxAttempts: 2, requestTimeoutMs: undefined }).maxAttempts).toBe(2);
  });

  it('names a stage as serverless.yml does; the local stage keeps the example topic', () => {
    expect(stageNames('prod')).toMatchObject({ state: 'vipswitch-prod-state', actuate: 'vipswitch-prod-actuate', pagesTopic: 'vipswitch-prod-pages' });
    expect(stageNames('local').pagesTopic).toBe('vipswitch-pages');
    expect(() => stageNames('Prod!')).toThrow(/not a stage name/);
  });

  it('the local stage points at the local stack unless the environment says otherwise', () => {
    expect(localStackDefaults({})).toMatchObject({ AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8000', AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:4566', AWS_ACCESS_KEY_ID: 'AKIALOCAL' });
    expect(localStackDefaults({ VIPSWITCH_DYNAMODB_PORT: '8100', AWS_PROFILE: 'me' })).toMatchObject({ AWS_ENDPOINT_URL_DYNAMODB: 'http://127.0.0.1:8100' });
    expect(localStackDefaults({ AWS_PROFILE: 'me' })).not.toHaveProperty('AWS_ACCESS_KEY_ID');
    expect(localStackDefaults({ AWS_ENDPOINT_URL_DYNAMODB: 'http://elsewhere:1', AWS_REGION: 'eu-west-1' })).not.toHaveProperty('AWS_ENDPOINT_URL_DYNAMODB');
  });
});
