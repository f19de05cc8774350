#!/usr/bin/env bash
# One entry for `npm start`, `npm test` and `npm run bench`: make the machine ready, then run.
#  - node_modules from the lockfile (npm ci) when missing or older than package-lock.json;
#  - Debian packages the local stack and the end-to-end tests need: installed when missing and we are root,
#    otherwise a clear message naming what to install.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:?usage: bootstrap.sh start|test|bench [args...]}"; shift || true

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "vipswitch: installing npm dependencies (npm ci)..." >&2
  # The lockfile is complete (every platform's optional binaries): npm ci alone, never a lockfile rewrite.
  npm ci --no-audit --no-fund
fi

need=()
command -v java >/dev/null 2>&1 || need+=(openjdk-17-jre-headless)
if [ "$what" = test ] || [ "$what" = drill ]; then
  [ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
  [ -x /usr/lib/postgresql/15/bin/repmgr ] || need+=(postgresql-15-repmgr)
  command -v patroni >/dev/null 2>&1 || need+=(patroni)
  command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
  [ -x /usr/bin/aws ] || need+=(awscli)
  # keepalived / Pgpool-II drills: keepalived in network namespaces the test makes (ip netns, veth), Pgpool-II's
  # watchdog and pcp tools with its PostgreSQL extension, pgbouncer in front of each node.
  [ -x /usr/sbin/keepalived ] || need+=(keepalived)
  { [ -x /usr/sbin/pgpool ] && [ -x /usr/sbin/pcp_watchdog_info ]; } || need+=(pgpool2)
  [ -e /usr/lib/postgresql/15/lib/pgpool-recovery.so ] || need+=(postgresql-15-pgpool2)
  [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
  # The status page's browser test drives Debian's Chromium through playwright-core (never a downloaded browser).
  [ -x /usr/bin/chromium ] || need+=(chromium)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "vipswitch: installing Debian packages: ${need[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    # Debian starts a default cluster / etcd on install; the tests start their own on free ports.
  else
    echo "vipswitch: missing Debian packages: ${need[*]}" >&2
    echo "  install them with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi

node scripts/build-hook.mjs >/dev/null
node scripts/build-cli.mjs >/dev/null
case "$what" in
  start) exec node --import tsx local/start.ts "$@" ;;
  test) exec node --no-warnings=NodeVersionSupportWarning node_modules/jest/bin/jest.js --runInBand "$@" ;;
  # Failover latency (both profiles, vs the aws CLI baseline), then the fleet: P5 sweep, P4 throughput, cold start and size.
  bench) rc=0; node --import tsx test/bench/run.ts "$@" || rc=$?; node --import tsx test/bench/fleet.ts || rc=$?; exit "$rc" ;;
  drill) exec node --import tsx local/cli.ts drill "$@" ;;
  *) echo "unknown: $what" >&2; exit 2 ;;
esac
