import { existsSync, readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { HookConfigError } from './errors';

/** Where the hook looks for its config when neither `--config` nor `VIPSWITCH_HOOK_CONFIG` names one. */
export const DEFAULT_CONFIG_PATH = '/etc/vipswitch/hook.json';
/** Spool directory when the config names none. */
export const DEFAULT_SPOOL_DIR = '/var/lib/vipswitch/spool';

/** How the probe reaches the local PostgreSQL (one `psql` call, no shell). */
export interface PgConnection {
  /** Socket directory or host name, passed as `psql -h`. */
  host: string;
  port: number;
  user: string;
  dbname: string;
  /** Absolute path of the `psql` binary. */
  psql: string;
}

/**
 * The OS side of the `secondaryIp` mechanism (see local-address.ts): AWS moves the private IP between ENIs, the
 * hook adds it to / removes it from this node's interface with `ip`.
 */
export interface LocalAddressConfig {
  /** IPv4 address with its prefix length, as `ip addr add` takes it, e.g. `10.0.1.100/24`. */
  address: string;
  /** The interface to put it on, e.g. `eth0`. */
  interface: string;
  /** Absolute path of the `ip` binary (iproute2 with `-j`). */
  ip: string;
}

/**
 * How the `pgpool` mode asks the local watchdog (one `pcp_watchdog_info -v` call, no shell). Unset fields are left to
 * the pcp client's own defaults (socket, port 9898, the OS user); the password comes from a pcppass file, never argv.
 */
export interface PcpConfig {
  /** Absolute path of `pcp_watchdog_info`. */
  command: string;
  /** `-h`: host name or socket directory; null: the client's default. */
  host: string | null;
  /** `-p`: the pcp port (pgpool.conf `pcp_port`); null: the client's default (9898). */
  port: number | null;
  /** `-U`: a user from pcp.conf; null: the OS user. */
  user: string | null;
  /** `PCPPASSFILE` for the call; null: inherited (pgpool's environment) or `~/.pcppass`. */
  passFile: string | null;
}

/**
 * The local pgbouncer whose database the hook turns off on a node that is not the primary and back on when the node's
 * claim is accepted (see pgbouncer.ts). Reached through its admin console (`psql ... -d pgbouncer`), no shell.
 */
export interface PgbouncerConfig {
  /** `-h`: socket directory or host of pgbouncer's listener. */
  host: string;
  /** pgbouncer's `listen_port`. */
  port: number;
  /** A user in pgbouncer's `admin_users`. */
  user: string;
  /** The `[databases]` entry clients use (quoted on the console, so any name pgbouncer accepts). */
  database: string;
  /** Absolute path of `psql` (default: the probe's `pg.psql`). */
  psql: string;
}

/** The validated hook config. The key itself is not part of it: see {@link readKey}. */
export interface HookConfig {
  endpoint: string;
  cluster: string;
  node: string;
  keyFile: string;
  spoolDir: string;
  /** Foreground budget of a repmgr / patroni call, counted from process start, probe included. */
  timeoutMs: number;
  /** Patroni primary callbacks: how long to wait for `pg_is_in_recovery()` to turn false. */
  promoteWaitMs: number;
  /** Bound of one `psql` probe. */
  probeTimeoutMs: number;
  /** Budget of `vipswitch-hook flush` (a timer, not in anyone's failover path), counted from process start. */
  flushTimeoutMs: number;
  logFile: string | null;
  pg: PgConnection;
  /** null unless the `localAddress` section says `enabled: true` (off by default). */
  localAddress: LocalAddressConfig | null;
  /** The `pgpool` mode's watchdog probe (defaults when the section is absent). */
  pcp: PcpConfig;
  /** null unless a `pgbouncer` section is configured (off by default). */
  pgbouncer: PgbouncerConfig | null;
}

/** Env variables that override config fields, and the field each one sets. */
export const ENV_OVERRIDES = {
  VIPSWITCH_ENDPOINT: 'endpoint',
  VIPSWITCH_CLUSTER: 'cluster',
  VIPSWITCH_NODE: 'node',
  VIPSWITCH_KEY_FILE: 'keyFile',
  VIPSWITCH_SPOOL_DIR: 'spoolDir',
  VIPSWITCH_TIMEOUT_MS: 'timeoutMs',
} as const;

type Env = Readonly<Record<string, string | undefined>>;

// Same rule as the server's event schema (shared/protocol/event-schema.ts), copied because the hook bundles no zod.
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const TOP_FIELDS = ['endpoint', 'cluster', 'node', 'keyFile', 'spoolDir', 'timeoutMs', 'promoteWaitMs', 'probeTimeoutMs', 'flushTimeoutMs', 'logFile', 'pg', 'localAddress', 'pcp', 'pgbouncer'];
const PCP_FIELDS = ['command', 'host', 'port', 'user', 'passFile'];
const PGBOUNCER_FIELDS = ['host', 'port', 'user', 'database', 'psql'];
/** Default `pcp.command`: Debian's pgpool2 package. */
export const DEFAULT_PCP_COMMAND = '/usr/sbin/pcp_watchdog_info';
const PG_FIELDS = ['host', 'port', 'user', 'dbname', 'psql'];
const LOCAL_ADDRESS_FIELDS = ['enabled', 'address', 'interface', 'ip'];
/** Default `localAddress.ip`: iproute2 on Debian / Ubuntu / RHEL. */
export const DEFAULT_IP_PATH = '/usr/sbin/ip';
// An interface name as `ip` takes it after `dev` (IFNAMSIZ - 1 = 15 bytes at most).
const INTERFACE = /^[A-Za-z0-9_.:@-]{1,15}$/;
const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const CIDR = new RegExp(`^(${OCTET}(?:\\.${OCTET}){3})/([1-9]|[12][0-9]|3[0-2])$`);
const INTEGER_BOUNDS = {
  timeoutMs: { min: 100, max: 120_000, fallback: 2000 },
  promoteWaitMs: { min: 0, max: 60_000, fallback: 5000 },
  probeTimeoutMs: { min: 50, max: 30_000, fallback: 800 },
  flushTimeoutMs: { min: 1000, max: 600_000, fallback: 30_000 },
} as const;
const PG_DEFAULTS: PgConnection = { host: '/var/run/postgresql', port: 5432, user: 'postgres', dbname: 'postgres', psql: '/usr/bin/psql' };

/** Which file to read: `--config` wins over `VIPSWITCH_HOOK_CONFIG`, which wins over the default path. */
export function resolveConfigPath(flag: string | undefined, env: Env): { path: string; explicit: boolean } {
  if (flag !== undefined) return { path: flag, explicit: true };
  const fromEnv = env.VIPSWITCH_HOOK_CONFIG;
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, explicit: true };
  return { path: DEFAULT_CONFIG_PATH, explicit: false };
}

/**
 * Read the config file as a JSON object. A missing default file is not an error (env may carry every field);
 * a missing file that was asked for is.
 * @throws HookConfigError naming `config` when the file cannot be read or is not a JSON object.
 */
export function readConfigFile(path: string, explicit: boolean): Record<string, unknown> {
  if (!explicit && !existsSync(path)) return {};
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new HookConfigError([`config: cannot read ${path} (${errorCode(error)})`], { cause: error });
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HookConfigError([`config: ${path} is not valid JSON (${(error as Error).message})`], { cause: error });
  }
  if (!isPlainObject(parsed)) throw new HookConfigError([`config: ${path} must hold a JSON object`]);
  return parsed;
}

/**
 * Merge env overrides into the file's fields, apply defaults and validate every field. Pure: no I/O.
 * @throws HookConfigError listing every bad field (by name, and by env variable when it came from there).
 */
export function validateHookConfig(file: Record<string, unknown>, env: Env): HookConfig {
  const issues: string[] = [];
  const raw: Record<string, unknown> = { ...file };
  const origin: Record<string, string> = {};
  for (const [variable, field] of Object.entries(ENV_OVERRIDES)) {
    const value = env[variable];
    if (value === undefined || value === '') continue;
    raw[field] = field === 'timeoutMs' && /^\d+$/.test(value) ? Number(value) : value;
    origin[field] = variable;
  }
  const label = (field: string): string => (origin[field] ? `${field} (from ${origin[field]})` : field);

  for (const key of Object.keys(raw)) if (!TOP_FIELDS.includes(key)) issues.push(`${key}: unknown field (known: ${TOP_FIELDS.join(', ')})`);

  const endpoint = checkEndpoint(raw.endpoint, label('endpoint'), issues);
  const cluster = checkName(raw.cluster, label('cluster'), issues);
  const node = checkName(raw.node, label('node'), issues);
  const keyFile = checkPath(raw.keyFile, label('keyFile'), issues, undefined);
  const spoolDir = checkPath(raw.spoolDir, label('spoolDir'), issues, DEFAULT_SPOOL_DIR);
  const ints = {} as Record<keyof typeof INTEGER_BOUNDS, number>;
  for (const [field, bounds] of Object.entries(INTEGER_BOUNDS) as [keyof typeof INTEGER_BOUNDS, (typeof INTEGER_BOUNDS)[keyof typeof INTEGER_BOUNDS]][]) {
    ints[field] = checkInteger(raw[field], label(field), bounds.min, bounds.max, bounds.fallback, issues);
  }
  let logFile: string | null = null;
  if (raw.logFile !== undefined && raw.logFile !== null) logFile = checkPath(raw.logFile, 'logFile', issues, undefined);
  const pg = checkPg(raw.pg, issues);
  const localAddress = checkLocalAddress(raw.localAddress, issues);
  const pcp = checkPcp(raw.pcp, issues);
  const pgbouncer = checkPgbouncer(raw.pgbouncer, pg.psql, issues);

  if (issues.length > 0) throw new HookConfigError(issues);
  return { endpoint, cluster, node, keyFile, spoolDir, ...ints, logFile, pg, localAddress, pcp, pgbouncer };
}

/**
 * Read the node's shared secret: the file's text without its trailing newline.
 * @throws HookConfigError naming `keyFile` (never printing the content) when it is unreadable or empty.
 */
export function readKey(keyFile: string): string {
  let text: string;
  try {
    text = readFileSync(keyFile, 'utf8');
  } catch (error) {
    throw new HookConfigError([`keyFile: cannot read ${keyFile} (${errorCode(error)})`], { cause: error });
  }
  const key = text.replace(/[\r\n]+$/, '');
  if (key.length === 0) throw new HookConfigError([`keyFile: ${keyFile} is empty`]);
  return key;
}

/** Config file + env + key, validated. @throws HookConfigError */
export function loadHookConfig(configFlag: string | undefined, env: Env): { config: HookConfig; key: string; path: string } {
  const { path, explicit } = resolveConfigPath(configFlag, env);
  const config = validateHookConfig(readConfigFile(path, explicit), env);
  return { config, key: readKey(config.keyFile), path };
}

/**
 * The spool directory to keep an unparsed call in when the config as a whole is invalid: the one named by env or by
 * the file, if it is a valid absolute path; the default only if it already exists. Never throws.
 */
export function spoolDirHint(configFlag: string | undefined, env: Env): string | null {
  const fromEnv = env.VIPSWITCH_SPOOL_DIR;
  if (fromEnv && isAbsolute(fromEnv)) return fromEnv;
  try {
    const { path, explicit } = resolveConfigPath(configFlag, env);
    const file = readConfigFile(path, explicit);
    if (typeof file.spoolDir === 'string' && isAbsolute(file.spoolDir)) return file.spoolDir;
    if (file.spoolDir !== undefined) return null;
  } catch {
    // fall through to the default
  }
  return existsSync(DEFAULT_SPOOL_DIR) ? DEFAULT_SPOOL_DIR : null;
}

function checkEndpoint(value: unknown, label: string, issues: string[]): string {
  if (typeof value !== 'string' || value === '') {
    issues.push(`${label}: required, the URL of POST /v1/events (https://...)`);
    return '';
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    issues.push(`${label}: not a URL: ${JSON.stringify(value)}`);
    return '';
  }
  if (url.username !== '' || url.password !== '') issues.push(`${label}: must not embed credentials`);
  if (url.protocol === 'https:') return url.toString();
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return url.toString();
  issues.push(`${label}: must be https:// (http:// only to a loopback host), got ${url.protocol}//${url.host}`);
  return '';
}

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

function checkName(value: unknown, label: string, issues: string[]): string {
  if (typeof value === 'string' && NAME.test(value)) return value;
  issues.push(`${label}: required, letters, digits, "_", "." or "-" (at most 63), got ${JSON.stringify(value ?? null)}`);
  return '';
}

function checkPath(value: unknown, label: string, issues: string[], fallback: string | undefined): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value === 'string' && isAbsolute(value)) return value;
  issues.push(`${label}: ${value === undefined ? 'required, ' : ''}must be an absolute path, got ${JSON.stringify(value ?? null)}`);
  return '';
}

function checkInteger(value: unknown, label: string, min: number, max: number, fallback: number, issues: string[], unit = ' (milliseconds)'): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number' && Number.isInteger(value) && value >= min && value <= max) return value;
  issues.push(`${label}: must be an integer from ${min} to ${max}${unit}, got ${JSON.stringify(value)}`);
  return fallback;
}

function checkPg(value: unknown, issues: string[]): PgConnection {
  if (value === undefined) return { ...PG_DEFAULTS };
  if (!isPlainObject(value)) {
    issues.push(`pg: must be an object with ${PG_FIELDS.join(', ')}`);
    return { ...PG_DEFAULTS };
  }
  for (const key of Object.keys(value)) if (!PG_FIELDS.includes(key)) issues.push(`pg.${key}: unknown field (known: ${PG_FIELDS.join(', ')})`);
  const text = (field: 'host' | 'user' | 'dbname'): string => {
    const v = value[field];
    if (v === undefined) return PG_DEFAULTS[field];
    if (typeof v === 'string' && v !== '' && !v.startsWith('-')) return v;
    issues.push(`pg.${field}: must be a non-empty string not starting with "-", got ${JSON.stringify(v)}`);
    return PG_DEFAULTS[field];
  };
  const port = checkInteger(value.port, 'pg.port', 1, 65535, PG_DEFAULTS.port, issues, '');
  const psql = value.psql === undefined ? PG_DEFAULTS.psql : checkPath(value.psql, 'pg.psql', issues, undefined);
  return { host: text('host'), port, user: text('user'), dbname: text('dbname'), psql };
}

/** `a.b.c.d/len` (IPv4, prefix 1 to 32, no leading zeros): its address and prefix length, else null. */
export function parseCidr(text: string): { ip: string; prefix: number } | null {
  const match = CIDR.exec(text);
  return match ? { ip: match[1]!, prefix: Number(match[2]) } : null;
}

function checkLocalAddress(value: unknown, issues: string[]): LocalAddressConfig | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) {
    issues.push(`localAddress: must be an object with ${LOCAL_ADDRESS_FIELDS.join(', ')}`);
    return null;
  }
  for (const key of Object.keys(value)) if (!LOCAL_ADDRESS_FIELDS.includes(key)) issues.push(`localAddress.${key}: unknown field (known: ${LOCAL_ADDRESS_FIELDS.join(', ')})`);
  const { enabled, address, interface: name, ip } = value;
  if (typeof enabled !== 'boolean') issues.push(`localAddress.enabled: required, true or false, got ${JSON.stringify(enabled ?? null)}`);
  // Fields are checked even when disabled, so that turning it on later does not reveal an old mistake mid-failover.
  if (address !== undefined || enabled === true) {
    if (typeof address !== 'string' || parseCidr(address) === null) {
      issues.push(`localAddress.address: ${address === undefined ? 'required, ' : ''}an IPv4 address with its prefix length (CIDR) like "10.0.1.100/24", got ${JSON.stringify(address ?? null)}`);
    }
  }
  if (name !== undefined || enabled === true) {
    if (typeof name !== 'string' || !INTERFACE.test(name) || name.startsWith('-') || name === '.' || name === '..') {
      issues.push(`localAddress.interface: ${name === undefined ? 'required, ' : ''}an interface name like "eth0" (1 to 15 letters, digits, "_", ".", ":", "@" or "-", not starting with "-"), got ${JSON.stringify(name ?? null)}`);
    }
  }
  const ipPath = ip === undefined ? DEFAULT_IP_PATH : checkPath(ip, 'localAddress.ip', issues, undefined);
  if (enabled !== true) return null;
  return { address: address as string, interface: name as string, ip: ipPath };
}

function checkPcp(value: unknown, issues: string[]): PcpConfig {
  const defaults: PcpConfig = { command: DEFAULT_PCP_COMMAND, host: null, port: null, user: null, passFile: null };
  if (value === undefined || value === null) return defaults;
  if (!isPlainObject(value)) {
    issues.push(`pcp: must be an object with ${PCP_FIELDS.join(', ')}`);
    return defaults;
  }
  for (const key of Object.keys(value)) if (!PCP_FIELDS.includes(key)) issues.push(`pcp.${key}: unknown field (known: ${PCP_FIELDS.join(', ')})`);
  const text = (field: 'host' | 'user'): string | null => {
    const v = value[field];
    if (v === undefined || v === null) return null;
    if (typeof v === 'string' && v !== '' && !v.startsWith('-')) return v;
    issues.push(`pcp.${field}: must be a non-empty string not starting with "-", got ${JSON.stringify(v)}`);
    return null;
  };
  return {
    command: value.command === undefined ? DEFAULT_PCP_COMMAND : checkPath(value.command, 'pcp.command', issues, undefined),
    host: text('host'),
    port: value.port === undefined || value.port === null ? null : checkInteger(value.port, 'pcp.port', 1, 65535, 9898, issues, ''),
    user: text('user'),
    passFile: value.passFile === undefined || value.passFile === null ? null : checkPath(value.passFile, 'pcp.passFile', issues, undefined),
  };
}

function checkPgbouncer(value: unknown, psql: string, issues: string[]): PgbouncerConfig | null {
  if (value === undefined || value === null) return null;
  if (!isPlainObject(value)) {
    issues.push(`pgbouncer: must be an object with ${PGBOUNCER_FIELDS.join(', ')}`);
    return null;
  }
  for (const key of Object.keys(value)) if (!PGBOUNCER_FIELDS.includes(key)) issues.push(`pgbouncer.${key}: unknown field (known: ${PGBOUNCER_FIELDS.join(', ')})`);
  const text = (field: 'host' | 'user', fallback: string | undefined): string => {
    const v = value[field];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v === 'string' && v !== '' && !v.startsWith('-')) return v;
    issues.push(`pgbouncer.${field}: ${v === undefined ? 'required, ' : ''}a non-empty string not starting with "-", got ${JSON.stringify(v ?? null)}`);
    return '';
  };
  const database = value.database;
  // pgbouncer's console reads at most 63 bytes of argument, quotes included (admin.c); no control characters.
  if (typeof database !== 'string' || !/^[^\x00-\x1f\x7f]{1,60}$/.test(database) || Buffer.byteLength(database) > 60) {
    issues.push(`pgbouncer.database: required, the [databases] entry clients use (1 to 60 bytes, no control characters), got ${JSON.stringify(database ?? null)}`);
  } else if (database === 'pgbouncer') {
    issues.push('pgbouncer.database: "pgbouncer" is the admin console itself; name the database your clients use');
  }
  return {
    host: text('host', '/var/run/postgresql'),
    port: checkInteger(value.port, 'pgbouncer.port', 1, 65535, 6432, issues, ''),
    user: text('user', 'pgbouncer'),
    database: typeof database === 'string' ? database : '',
    psql: value.psql === undefined ? psql : checkPath(value.psql, 'pgbouncer.psql', issues, undefined),
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException | undefined)?.code ?? String(error);
}
