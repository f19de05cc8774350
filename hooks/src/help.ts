import { DEFAULT_CONFIG_PATH, DEFAULT_IP_PATH, DEFAULT_PCP_COMMAND, DEFAULT_SPOOL_DIR } from './config';

/** `vipswitch-hook --help`. */
export const HELP_TEXT = `vipswitch-hook: tell vipswitch about a repmgr event, a Patroni callback, a keepalived notify or a Pgpool-II
watchdog command (one call, one event).

Usage:
  vipswitch-hook [--config FILE] [--facts-json JSON] repmgr %n %e %s "%t" "%d" "%a" "%c" "%p"
  vipswitch-hook [--config FILE] [--facts-json JSON] patroni <action> <role> <scope>
  vipswitch-hook [--config FILE] [--facts-json JSON] keepalived [INSTANCE|GROUP <name> <STATE> <priority>]
  vipswitch-hook [--config FILE] [--facts-json JSON] keepalived master|backup|fault|stop|master_rx_lower_pri
  vipswitch-hook [--config FILE] [--facts-json JSON] pgpool up|down <delegate_IP>
  vipswitch-hook [--config FILE] [--facts-json JSON] pgpool escalation|de-escalation
  vipswitch-hook [--config FILE] flush
  vipswitch-hook [--config FILE] ping [--json]
  vipswitch-hook --version | --help

Global options go BEFORE the mode word; everything after it is passed on verbatim.
  --config FILE      config file (default ${DEFAULT_CONFIG_PATH}, or env VIPSWITCH_HOOK_CONFIG)
  --facts-json JSON  skip the PostgreSQL probe and send these facts (demos, drills), e.g.
                     '{"inRecovery":false,"timeline":2,"lsn":"0/3000060","systemIdentifier":"7710811430681400266"}'
                     or 'null' (probe failed). For pgpool: '{"watchdog":{"leader":true,"quorum":true,
                     "escalated":true}}' (a token is minted as after a real probe unless "token" is given).
                     Also env VIPSWITCH_FACTS_JSON.

repmgr (repmgr.conf, on every node):
  event_notification_command='/usr/local/bin/vipswitch-hook repmgr %n %e %s "%t" "%d" "%a" "%c" "%p"'
  repmgr runs this line through "sh -c" and waits for it with no timeout. %t %d %a %c contain spaces and MUST be
  double-quoted as above. repmgr escapes only '"' in %d: a '$', backtick or '\\' in event details is still
  expanded by sh (the hook cannot undo that). The expanded line is cut at 1023 bytes; missing trailing
  arguments are tolerated. A shorter line works too, as long as %n %e %s come first and the rest keeps this order
  (e.g. 'vipswitch-hook repmgr %n %e %s'): without %t the hook's own clock stands in, marked in the event
  (raw.occurredAtFrom "hook"). Add --config FILE before "repmgr" if the config is not at the default path.

Patroni (patroni.yml, on every member; Patroni appends <action> <role> <scope>):
  postgresql:
    callbacks:
      on_start: /usr/local/bin/vipswitch-hook --config ${DEFAULT_CONFIG_PATH} patroni
      on_stop: /usr/local/bin/vipswitch-hook --config ${DEFAULT_CONFIG_PATH} patroni
      on_restart: /usr/local/bin/vipswitch-hook --config ${DEFAULT_CONFIG_PATH} patroni
      on_reload: /usr/local/bin/vipswitch-hook --config ${DEFAULT_CONFIG_PATH} patroni
      on_role_change: /usr/local/bin/vipswitch-hook --config ${DEFAULT_CONFIG_PATH} patroni
  Patroni does not pass the member name: it is "node" in the config. For on_role_change / on_start with role
  master or primary the hook waits (up to promoteWaitMs) for pg_is_in_recovery() to turn false.

keepalived (keepalived.conf, every vrrp_instance; keepalived runs these itself, no shell, as root unless script_user):
  notify "/usr/local/bin/vipswitch-hook keepalived"
  notify_master_rx_lower_pri "/usr/local/bin/vipswitch-hook keepalived master_rx_lower_pri"
  keepalived appends "INSTANCE <name> <STATE> <priority>" to the generic notify only; notify_master / _backup /
  _fault / _stop get nothing, so name the kind after the mode word if you use them instead:
  notify_master "/usr/local/bin/vipswitch-hook keepalived master". Configure one of the two (both: two events per
  transition). A MASTER is a primary claim only when the local PostgreSQL is out of recovery; on a standby the hook
  waits (up to promoteWaitMs) for a promotion (after a host crash keepalived can elect the standby repmgrd is about to
  promote, and calls nothing when its priority rises), then a MASTER still in recovery is journaled and paged
  ("keepalived and PostgreSQL disagree") and moves nothing. keepalived kills running scripts
  about 1 s into its stop: the event is spooled first and sent by the next call or flush.

Pgpool-II (pgpool.conf, every watchdog node; the registered nodes are the Pgpool-II nodes):
  delegate_IP = '10.0.1.100'          (exactly this spelling: lowercase delegate_ip is silently ignored)
  if_up_cmd = '/usr/local/bin/vipswitch-hook pgpool up $_IP_$'
  if_down_cmd = '/usr/local/bin/vipswitch-hook pgpool down $_IP_$'
  pgpool substitutes $_IP_$ and splits on single spaces, no shell: no quotes, no spaces in paths. Or, with
  delegate_IP = '' (then if_up_cmd / if_down_cmd never run), through sh -c, with no $_IP_$:
  wd_escalation_command = '/usr/local/bin/vipswitch-hook pgpool escalation'
  wd_de_escalation_command = '/usr/local/bin/vipswitch-hook pgpool de-escalation'
  The facts come from "pcp_watchdog_info -v" (config pcp); a claim counts only from the leader with quorum and
  escalation, ordered by a leadership token minted here (Unix ms, read before the probe, strictly increasing per
  node, kept in <spoolDir>/.pgpool-leadership-token). pgpool waits for these commands with no timeout.

What a call does: spool the event (facts null), probe the local PostgreSQL with one psql call, rewrite the spool
record with the facts, then send the spool oldest first (HMAC-signed, retries with jitter) within timeoutMs,
counted from process start (a Patroni primary callback may add the promotion wait). What is not delivered stays
spooled for the next call or "flush". Tool calls (repmgr, patroni, keepalived, pgpool) ALWAYS exit 0, even on bad
config or arguments
(then the call is kept in <spoolDir>/unparsed/ when the spool directory is known), so a failover never waits on
or fails because of this hook.

flush (a systemd timer, as the same user as the hook, e.g. every minute):
  ExecStart=/usr/local/bin/vipswitch-hook --config ${DEFAULT_CONFIG_PATH} flush
  Sends what is spooled within flushTimeoutMs. Exit 0: nothing left; 1: records remain spooled; 2: bad usage or
  config.

ping (by hand, after installing or rotating the key):
  Sends one signed no-op and prints the round trip and this clock's skew as the server measured it. Nothing is
  spooled or recorded. Exit 0: pong (the key is the node's, or its next key during a rotation); 1: refused (bad key,
  unknown node, clock outside the window); 2: bad usage or config; 3: endpoint not reachable.

Config (JSON; env overrides marked):
  endpoint        https URL of POST /v1/events (http only to loopback)      VIPSWITCH_ENDPOINT
  cluster, node   this member's cluster and node name                       VIPSWITCH_CLUSTER, VIPSWITCH_NODE
  keyFile         file holding the node's shared secret (mode 0600)          VIPSWITCH_KEY_FILE
  spoolDir        default ${DEFAULT_SPOOL_DIR} (created 0700)         VIPSWITCH_SPOOL_DIR
  timeoutMs       foreground budget, default 2000                            VIPSWITCH_TIMEOUT_MS
  promoteWaitMs   default 5000     probeTimeoutMs  default 800     flushTimeoutMs  default 30000
  logFile         null or a path: also append the log lines there
  pg              { host: "/var/run/postgresql", port: 5432, user: "postgres", dbname: "postgres",
                    psql: "/usr/bin/psql" }
  localAddress    optional, off by default: { enabled: true, address: "10.0.1.100/24", interface: "eth0",
                    ip: "${DEFAULT_IP_PATH}" } (see below)
  pcp             pgpool mode: { command: "${DEFAULT_PCP_COMMAND}", host, port (pcp_port), user,
                    passFile (PCPPASSFILE) }; unset fields are the pcp client's defaults; bounded by probeTimeoutMs
  pgbouncer       optional, off by default: { host: "/var/run/postgresql", port: 6432, user: "pgbouncer",
                    database: "appdb", psql } (see below)

OS side of the secondary IP (localAddress, for the cluster's secondaryIp mechanism): AWS moves the private IP
between ENIs; this keeps the address configured on the primary's interface only. Checked with
"ip -j addr show dev <if>", changed only when needed with "ip addr add|del <address> dev <if>", run directly
with an argv (never through a shell). Changing addresses needs CAP_NET_ADMIN: as user postgres, point "ip" at a
copy of ip with "setcap cap_net_admin+ep", or at a wrapper running "sudo -n /usr/sbin/ip" with a sudoers rule.
  add     when the server answers THIS call's event "accepted" naming this node as primary (or "duplicate"
          whose first answer did);
  remove  when this call shows the node is not the primary: facts inRecovery true, Patroni role replica or
          demoted, or Patroni on_stop (done before sending); or the answer to this call's event is stale_claim.
Answers to older spooled events (sent along, or by flush) are never acted on. The step is bounded by 1000 ms and
by timeoutMs (a primary claim keeps min(1000, timeoutMs/4) ms of its budget for it); a failure is one log line
"localAddress=failed step=..." and never changes the exit code.

pgbouncer on every node (repmgr, patroni, keepalived calls): only the primary's pgbouncer serves. Through the admin
console ("psql ... -d pgbouncer", argv, no shell): SHOW DATABASES, then only what changes something:
  off      DISABLE db, KILL db (new clients refused, open sessions dropped; the database stays paused) when this
           call shows the node is not the primary (facts in recovery, Patroni replica / demoted / on_stop) or the
           answer to its event is stale_claim;
  serving  ENABLE db, RESUME db when the answer to this call's event is accepted naming this node, or ignored as
           the recorded primary's re-assertion.
Then SHOW DATABASES again. Bounded like localAddress (1000 ms); a failure is one "pgbouncer=failed" line and
never changes the exit code. The user must be in pgbouncer's admin_users.

Spool: <spoolDir>/<ms>-<pid>-<seq>-<event id>.json pending (oldest first), answered/ final 4xx answers beside
their records (*.answer.json), unparsed/ calls that could not become an event, .lock the sender lock.
`;
