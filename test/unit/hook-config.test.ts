import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_PATH, DEFAULT_SPOOL_DIR, readConfigFile, readKey, resolveConfigPath, spoolDirHint, validateHookConfig } from '../../hooks/src/config';
import { HookConfigError } from '../../hooks/src/errors';

const VALID = {
  endpoint: 'https://abc.execute-api.eu-west-1.amazonaws.com/v1/events',
  cluster: 'pg-main',
  node: 'node2',
  keyFile: '/etc/vipswitch/node2.key',
  spoolDir: '/var/lib/vipswitch/spool',
  timeoutMs: 2000,
  promoteWaitMs: 5000,
  probeTimeoutMs: 800,
  logFile: null,
  pg: { host: '/var/run/postgresql', port: 5432, user: 'postgres', dbname: 'postgres', psql: '/usr/bin/psql' },
};

const LOCAL = { enabled: true, address: '10.0.1.100/24', interface: 'eth0', ip: '/usr/sbin/ip' };

/** The issues of an invalid config (fails the test if it is valid). */
function issuesOf(file: Record<string, unknown>, env: Record<string, string> = {}): string[] {
  try {
    validateHookConfig(file, env);
  } catch (error) {
    expect(error).toBeInstanceOf(HookConfigError);
    return (error as HookConfigError).issues;
  }
  throw new Error('expected the config to be rejected');
}

describe('validateHookConfig', () => {
  it('accepts the documented example as it is', () => {
    const config = validateHookConfig(VALID, {});
    expect(config).toEqual({ ...VALID, flushTimeoutMs: 30000, localAddress: null, pcp: { command: '/usr/sbin/pcp_watchdog_info', host: null, port: null, user: null, passFile: null }, pgbouncer: null });
  });

  it('fills defaults for everything but endpoint, cluster, node and keyFile', () => {
    const config = validateHookConfig({ endpoint: VALID.endpoint, cluster: 'c', node: 'n', keyFile: '/k' }, {});
    expect(config).toMatchObject({ spoolDir: DEFAULT_SPOOL_DIR, timeoutMs: 2000, promoteWaitMs: 5000, probeTimeoutMs: 800, flushTimeoutMs: 30000, logFile: null, pg: VALID.pg, localAddress: null });
  });

  it('lets env variables override file fields', () => {
    const env = {
      VIPSWITCH_ENDPOINT: 'http://127.0.0.1:3000/v1/events',
      VIPSWITCH_CLUSTER: 'other',
      VIPSWITCH_NODE: 'node9',
      VIPSWITCH_KEY_FILE: '/run/key',
      VIPSWITCH_SPOOL_DIR: '/tmp/spool',
      VIPSWITCH_TIMEOUT_MS: '1500',
    };
    expect(validateHookConfig(VALID, env)).toMatchObject({ endpoint: env.VIPSWITCH_ENDPOINT, cluster: 'other', node: 'node9', keyFile: '/run/key', spoolDir: '/tmp/spool', timeoutMs: 1500 });
  });

  it.each([
    ['endpoint', { endpoint: undefined }, /^endpoint: required/],
    ['endpoint', { endpoint: 'not a url' }, /^endpoint: not a URL/],
    ['endpoint', { endpoint: 'http://api.example.com/v1/events' }, /^endpoint: must be https:\/\/ \(http:\/\/ only to a loopback host\)/],
    ['endpoint', { endpoint: 'https://user:pw@api.example.com/v1/events' }, /^endpoint: must not embed credentials/],
    ['cluster', { cluster: 'pg main' }, /^cluster: required, letters/],
    ['node', { node: undefined }, /^node: required/],
    ['keyFile', { keyFile: 'node2.key' }, /^keyFile: must be an absolute path/],
    ['keyFile', { keyFile: undefined }, /^keyFile: required, must be an absolute path/],
    ['spoolDir', { spoolDir: 'spool' }, /^spoolDir: must be an absolute path/],
    ['timeoutMs', { timeoutMs: '2000' }, /^timeoutMs: must be an integer from 100 to 120000/],
    ['timeoutMs', { timeoutMs: 0 }, /^timeoutMs: must be an integer/],
    ['promoteWaitMs', { promoteWaitMs: -1 }, /^promoteWaitMs: must be an integer from 0/],
    ['probeTimeoutMs', { probeTimeoutMs: 12.5 }, /^probeTimeoutMs: must be an integer/],
    ['flushTimeoutMs', { flushTimeoutMs: 10 }, /^flushTimeoutMs: must be an integer from 1000/],
    ['logFile', { logFile: 'hook.log' }, /^logFile: must be an absolute path/],
    ['pg', { pg: 'postgres://' }, /^pg: must be an object/],
    ['pg.port', { pg: { ...VALID.pg, port: 70000 } }, /^pg\.port: must be an integer from 1 to 65535, got 70000$/],
    ['pg.user', { pg: { ...VALID.pg, user: '--help' } }, /^pg\.user: must be a non-empty string not starting with "-"/],
    ['pg.host', { pg: { ...VALID.pg, host: '' } }, /^pg\.host: must be a non-empty string/],
    ['pg.psql', { pg: { ...VALID.pg, psql: 'psql' } }, /^pg\.psql: must be an absolute path/],
    ['pg.sslmode', { pg: { ...VALID.pg, sslmode: 'require' } }, /^pg\.sslmode: unknown field/],
    ['timeoutMS', { timeoutMS: 10 }, /^timeoutMS: unknown field/],
    ['localAddress', { localAddress: 'eth0' }, /^localAddress: must be an object with enabled, address, interface, ip$/],
    ['localAddress.enabled', { localAddress: { ...LOCAL, enabled: 'yes' } }, /^localAddress\.enabled: required, true or false, got "yes"$/],
    ['localAddress.enabled', { localAddress: { address: LOCAL.address, interface: 'eth0' } }, /^localAddress\.enabled: required/],
    ['localAddress.address', { localAddress: { ...LOCAL, address: '10.0.1.100' } }, /^localAddress\.address: an IPv4 address with its prefix length \(CIDR\) like "10\.0\.1\.100\/24", got "10\.0\.1\.100"$/],
    ['localAddress.address', { localAddress: { ...LOCAL, address: '10.0.1.256/24' } }, /^localAddress\.address: an IPv4/],
    ['localAddress.address', { localAddress: { ...LOCAL, address: '10.0.1.100/33' } }, /^localAddress\.address: an IPv4/],
    ['localAddress.address', { localAddress: { ...LOCAL, address: '10.0.01.100/24' } }, /^localAddress\.address: an IPv4/],
    ['localAddress.address', { localAddress: { ...LOCAL, address: '10.0.1.100/24; reboot' } }, /^localAddress\.address: an IPv4/],
    ['localAddress.address', { localAddress: { enabled: true, interface: 'eth0' } }, /^localAddress\.address: required, an IPv4/],
    ['localAddress.interface', { localAddress: { ...LOCAL, interface: 'eth0 up' } }, /^localAddress\.interface: an interface name like "eth0"/],
    ['localAddress.interface', { localAddress: { ...LOCAL, interface: 'a-very-long-ifname' } }, /^localAddress\.interface: an interface name/],
    ['localAddress.interface', { localAddress: { ...LOCAL, interface: '-h' } }, /^localAddress\.interface: an interface name .*not starting with "-"/],
    ['localAddress.interface', { localAddress: { enabled: true, address: LOCAL.address } }, /^localAddress\.interface: required, an interface name/],
    ['localAddress.ip', { localAddress: { ...LOCAL, ip: 'ip' } }, /^localAddress\.ip: must be an absolute path, got "ip"$/],
    ['localAddress.device', { localAddress: { ...LOCAL, device: 'eth0' } }, /^localAddress\.device: unknown field \(known: enabled, address, interface, ip\)$/],
  ])('names %s when it is bad', (_field, change, expected) => {
    const issues = issuesOf({ ...VALID, ...change });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(expected);
  });

  it('reports every bad field at once', () => {
    const issues = issuesOf({ ...VALID, cluster: '', timeoutMs: -5, pg: { ...VALID.pg, port: 'x' } });
    expect(issues.map((issue) => issue.split(':')[0])).toEqual(['cluster', 'timeoutMs', 'pg.port']);
  });

  it('names the env variable a bad value came from', () => {
    const issues = issuesOf(VALID, { VIPSWITCH_TIMEOUT_MS: '2s', VIPSWITCH_NODE: 'node 2' });
    expect(issues).toEqual([
      expect.stringMatching(/^node \(from VIPSWITCH_NODE\): required, letters/),
      expect.stringMatching(/^timeoutMs \(from VIPSWITCH_TIMEOUT_MS\): must be an integer .* got "2s"$/),
    ]);
  });

  it('accepts the localAddress section, defaults ip, and leaves it off unless enabled', () => {
    expect(validateHookConfig({ ...VALID, localAddress: LOCAL }, {}).localAddress).toEqual({ address: '10.0.1.100/24', interface: 'eth0', ip: '/usr/sbin/ip' });
    expect(validateHookConfig({ ...VALID, localAddress: { enabled: true, address: '172.31.5.9/32', interface: 'ens5@if3' } }, {}).localAddress).toEqual({ address: '172.31.5.9/32', interface: 'ens5@if3', ip: '/usr/sbin/ip' });
    expect(validateHookConfig({ ...VALID, localAddress: { ...LOCAL, enabled: false } }, {}).localAddress).toBeNull();
    expect(validateHookConfig({ ...VALID, localAddress: { enabled: false } }, {}).localAddress).toBeNull();
    expect(validateHookConfig({ ...VALID, localAddress: null }, {}).localAddress).toBeNull();
  });

  it('checks the fields of a disabled localAddress section that are given', () => {
    const issues = issuesOf({ ...VALID, localAddress: { enabled: false, address: '10.0.1.100', interface: 'eth 0' } });
    expect(issues.map((issue) => issue.split(':')[0])).toEqual(['localAddress.address', 'localAddress.interface']);
  });

  it('accepts http:// only to loopback hosts', () => {
    for (const endpoint of ['http://127.0.0.1:3000/v1/events', 'http://localhost/v1/events', 'http://[::1]:8080/v1/events']) {
      expect(validateHookConfig({ ...VALID, endpoint }, {}).endpoint).toBe(endpoint);
    }
  });
});

describe('config file and key file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vipswitch-hook-config-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('resolves --config over VIPSWITCH_HOOK_CONFIG over the default', () => {
    expect(resolveConfigPath('/a.json', { VIPSWITCH_HOOK_CONFIG: '/b.json' })).toEqual({ path: '/a.json', explicit: true });
    expect(resolveConfigPath(undefined, { VIPSWITCH_HOOK_CONFIG: '/b.json' })).toEqual({ path: '/b.json', explicit: true });
    expect(resolveConfigPath(undefined, {})).toEqual({ path: DEFAULT_CONFIG_PATH, explicit: false });
  });

  it('treats a missing default file as empty but a missing named file as an error naming config', () => {
    const missing = join(dir, 'missing.json');
    expect(readConfigFile(missing, false)).toEqual({});
    expect(() => readConfigFile(missing, true)).toThrow(/config: cannot read .*missing\.json \(ENOENT\)/);
  });

  it('names config when the file is not a JSON object', () => {
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"endpoint": ');
    expect(() => readConfigFile(broken, true)).toThrow(/config: .*broken\.json is not valid JSON/);
    writeFileSync(broken, '[1]');
    expect(() => readConfigFile(broken, true)).toThrow(/config: .*must hold a JSON object/);
  });

  it('reads the key without its trailing newline', () => {
    const keyFile = join(dir, 'node2.key');
    writeFileSync(keyFile, 'c2VjcmV0 with spaces\r\n', { mode: 0o600 });
    expect(readKey(keyFile)).toBe('c2VjcmV0 with spaces');
  });

  it('names keyFile when the key is missing or empty', () => {
    const keyFile = join(dir, 'node2.key');
    expect(() => readKey(keyFile)).toThrow(/^invalid hook config:\n {2}- keyFile: cannot read .*node2\.key \(ENOENT\)$/);
    writeFileSync(keyFile, '\n');
    expect(() => readKey(keyFile)).toThrow(/keyFile: .*node2\.key is empty/);
  });

  it('finds a spool dir for unparsed calls even when the config is invalid', () => {
    const config = join(dir, 'hook.json');
    writeFileSync(config, JSON.stringify({ spoolDir: join(dir, 'spool'), timeoutMs: 'bad' }));
    expect(spoolDirHint(config, {})).toBe(join(dir, 'spool'));
    expect(spoolDirHint(config, { VIPSWITCH_SPOOL_DIR: '/env/spool' })).toBe('/env/spool');
    writeFileSync(config, JSON.stringify({ spoolDir: 'relative' }));
    expect(spoolDirHint(config, {})).toBeNull();
  });
});
