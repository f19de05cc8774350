import { parseCommandLine, scanHookCall } from '../../hooks/src/command-line';
import { UsageError } from '../../hooks/src/errors';
import { parseFactsJson } from '../../hooks/src/facts-json';
import { formatLine } from '../../hooks/src/log';
import { parseProbeOutput, PROBE_SQL, psqlArgs } from '../../hooks/src/probe';

describe('parseCommandLine', () => {
  it('takes global flags before the mode word and everything after it verbatim', () => {
    const argv = ['--config', '/etc/h.json', 'repmgr', '3', 'standby_follow', '1', '2026-11-22 02:08:42.798588+00', 'attached to "node2"', 'node2', 'host=127.0.0.1 port=55433', '2', '%r', '--help', '%'];
    expect(parseCommandLine(argv)).toEqual({ kind: 'hook', mode: 'repmgr', configPath: '/etc/h.json', factsJson: undefined, args: argv.slice(3) });
  });

  it('accepts --flag=value and --facts-json', () => {
    expect(parseCommandLine(['--config=/c.json', '--facts-json', 'null', 'patroni', 'on_start', 'master', 'peers-demo'])).toEqual({
      kind: 'hook',
      mode: 'patroni',
      configPath: '/c.json',
      factsJson: 'null',
      args: ['on_start', 'master', 'peers-demo'],
    });
  });

  it('knows flush, --help and --version', () => {
    expect(parseCommandLine(['flush'])).toEqual({ kind: 'flush', configPath: undefined });
    expect(parseCommandLine(['--config', '/c.json', 'flush'])).toEqual({ kind: 'flush', configPath: '/c.json' });
    expect(parseCommandLine(['--help'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['-h'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
  });

  it.each([
    [[], /missing mode/],
    [['--config'], /--config needs a value/],
    [['--verbose', 'repmgr'], /unknown option "--verbose"/],
    [['restart'], /unknown mode "restart"/],
    [['flush', 'now'], /flush takes no arguments/],
    [['--facts-json', 'null', 'flush'], /--facts-json applies to repmgr and patroni/],
  ])('rejects %j', (argv, message) => {
    expect(() => parseCommandLine(argv as string[])).toThrow(UsageError);
    expect(() => parseCommandLine(argv as string[])).toThrow(message as RegExp);
  });
});

describe('scanHookCall', () => {
  it('recognises a tool call with a broken command line, and its --config', () => {
    expect(scanHookCall(['--config', '/c.json', '--bogus', 'repmgr', '1'])).toEqual({ mode: 'repmgr', configPath: '/c.json' });
    expect(scanHookCall(['--config=/d.json', 'patroni'])).toEqual({ mode: 'patroni', configPath: '/d.json' });
    expect(scanHookCall(['--bogus'])).toBeNull();
  });
});

describe('parseFactsJson', () => {
  it('accepts full facts, nulls, and the literal null', () => {
    const facts = { inRecovery: false, timeline: 2, lsn: '0/3000060', systemIdentifier: '7710811430681400266' };
    expect(parseFactsJson(JSON.stringify(facts))).toEqual(facts);
    expect(parseFactsJson('{"inRecovery":true}')).toEqual({ inRecovery: true, timeline: null, lsn: null, systemIdentifier: null });
    expect(parseFactsJson('null')).toBeNull();
  });

  it.each([
    ['{', /^--facts-json: not valid JSON/],
    ['[]', /must be a JSON object or null/],
    ['{"inRecovery":"no"}', /inRecovery: must be true or false/],
    ['{"inRecovery":false,"timeline":0}', /timeline: must be a positive integer/],
    ['{"inRecovery":false,"lsn":"3000060"}', /lsn: must be an LSN/],
    ['{"inRecovery":false,"systemIdentifier":7710811430681400266}', /systemIdentifier: must be a decimal string/],
    ['{"inRecovery":false,"tli":2}', /unknown field "tli"/],
  ])('names what is wrong in %s', (text, message) => {
    expect(() => parseFactsJson(text)).toThrow(message);
  });
});

describe('probe query and output', () => {
  it('calls psql without a shell-visible string: flags, connection, one query', () => {
    const args = psqlArgs({ host: '/var/run/postgresql', port: 5432, user: 'postgres', dbname: 'postgres', psql: '/usr/bin/psql' });
    expect(args).toEqual(['-X', '-A', '-t', '-q', '-w', '-v', 'ON_ERROR_STOP=1', '-h', '/var/run/postgresql', '-p', '5432', '-U', 'postgres', '-d', 'postgres', '-c', PROBE_SQL]);
    expect(PROBE_SQL).toContain("case when s.r then (select received_tli from pg_stat_wal_receiver) else ('x'||substr(pg_walfile_name(pg_current_wal_lsn()),1,8))::bit(32)::int end");
    expect(PROBE_SQL).toContain('coalesce(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) else pg_current_wal_lsn()');
    expect(PROBE_SQL).not.toContain('pg_control_checkpoint');
  });

  it('parses a primary and a standby line', () => {
    expect(parseProbeOutput('f|7710811430681400266|2|0/3000060\n')).toEqual({ inRecovery: false, systemIdentifier: '7710811430681400266', timeline: 2, lsn: '0/3000060' });
    expect(parseProbeOutput('t|7710811430681400266||0/50001b8\n')).toEqual({ inRecovery: true, systemIdentifier: '7710811430681400266', timeline: null, lsn: '0/50001B8' });
  });

  it.each([[''], ['f|1|2'], ['x|1|2|0/1'], ['f|abc|2|0/1'], ['f|1|2|0/1\nf|1|2|0/1'], ['f|1|-1|0/1'], ['f|1|2|nonsense']])('refuses %j (null, never a guess)', (text) => {
    expect(parseProbeOutput(text)).toBeNull();
  });
});

describe('log line', () => {
  it('writes k=v pairs, quoting only what needs it, leaving out undefined', () => {
    const line = formatLine(new Date('2026-11-22T02:08:22.000Z'), { id: 'abc-1', type: 'standby_promote', status: 409, code: 'stale_claim', message: 'timeline 2 is "old"', reason: undefined, ms: 12 });
    expect(line).toBe('vipswitch-hook 2026-11-22T02:08:22.000Z id=abc-1 type=standby_promote status=409 code=stale_claim message="timeline 2 is \\"old\\"" ms=12');
  });
});
