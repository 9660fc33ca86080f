# postgres-private.sh: a private PostgreSQL 15 on loopback for tests and benchmarks, as
# postfix-private.sh is for Postfix: its own folder under $TMPDIR, trust authentication,
# TCP on 127.0.0.1 only (a free port) and its unix socket in that folder; nothing of the
# machine's own clusters (pg_ctlcluster, /etc/postgresql, /var/run/postgresql) is used.
# The server refuses to run as root, so a root caller runs it as the `postgres` user.
#
# Sourced (test/integration scenarios, test/bench):
#   postgres_private_start [DB]   initdb, start, create DB (default bccsink); sets and
#                                 exports PG_DIR PG_BIN PG_HOST PG_PORT PG_SOCKET_DIR PG_USER
#                                 PG_DB PG_PID PG_URL PG_CONNINFO, written to $PG_DIR/env too;
#                                 with PG_PASSWORD set, TCP logins need that password
#   postgres_private_stop_on_exit puts postgres_private_stop in front of the EXIT trap
#   postgres_private_ctl ARGS...  pg_ctl on this server as its user (restart -m fast, ...)
#   postgres_private_stop [DIR]   pg_ctl stop -m fast, then the postmaster's PID is killed
#                                 if it is still there; DIR is removed
# Run as a command (the ctest fixture postgres/start and postgres/stop, test/CMakeLists.txt):
#   bash postgres-private.sh start ENVFILE   starts one and copies its env file to ENVFILE
#   bash postgres-private.sh stop ENVFILE    stops the server ENVFILE names
# Missing PostgreSQL is an error, never a silent skip (deploy/install-deps.sh installs it).

postgres_private_fail() {
  echo "postgres-private: $*" >&2
  return 1
}

# Runs a server binary as the user that owns the cluster: `postgres` when called as root.
postgres_private_as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

postgres_private_find_bin() {
  # /usr/local/bin/pg_ctl may exist on a machine (a link into a version's bin folder);
  # Debian's wrappers in /usr/bin pick a cluster from /etc/postgresql. Neither is used:
  # the binaries of the version the tests are written for are called by their path.
  local bin=${PG_BIN:-/usr/lib/postgresql/15/bin}
  for tool in initdb pg_ctl postgres psql; do
    [ -x "$bin/$tool" ] || postgres_private_fail "PostgreSQL 15 is not installed: no $bin/$tool" \
      "(deploy/install-deps.sh installs postgresql-15)" || return 1
  done
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    postgres_private_fail "running as root but there is no 'postgres' user to run the server" ||
      return 1
  fi
  PG_BIN=$bin
}

postgres_private_free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

postgres_private_start() {
  local db=${1:-bccsink}
  postgres_private_find_bin || return 1
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bccsink-pg.XXXXXX") || return 1
  [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR"
  # -N: no fsync of the new cluster's files; the tests do not survive a power cut anyway.
  # PG_PASSWORD set: TCP connections must give it (scram-sha-256); the socket stays trusted.
  local auth=(--auth=trust)
  if [ -n "${PG_PASSWORD:-}" ]; then
    printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/password"
    [ "$(id -u)" -eq 0 ] && chown postgres "$PG_DIR/password"
    auth=(--auth-local=trust --auth-host=scram-sha-256 --pwfile="$PG_DIR/password")
  fi
  postgres_private_as_owner "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres "${auth[@]}" \
    -E UTF8 --locale=C -N >"$PG_DIR/initdb.log" 2>&1 ||
    postgres_private_fail "initdb failed: $(tail -3 "$PG_DIR/initdb.log")" || return 1
  # The settings go into the cluster's postgresql.conf, so that a later `pg_ctl start`
  # (a test stopping and starting it) finds them too. fsync off unless the caller needs a
  # durable server (PG_FSYNC=on, benchmarks).
  cat >>"$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$PG_DIR'
fsync = ${PG_FSYNC:-off}
full_page_writes = ${PG_FSYNC:-off}
CONF
  local try port started=0
  for try in 1 2 3 4 5; do
    port=$(postgres_private_free_port) || return 1
    echo "port = $port" >>"$PG_DIR/data/postgresql.conf"  # the last one counts
    if postgres_private_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
      start >"$PG_DIR/pg_ctl.log" 2>&1; then
      started=1
      break
    fi
    # Another process took the port between the probe and the bind: try another one.
    grep -q "could not bind\|Address already in use" "$PG_DIR/log" 2>/dev/null ||
      break
  done
  [ $started -eq 1 ] ||
    postgres_private_fail "the server did not start: $(tail -5 "$PG_DIR/log" 2>/dev/null)" ||
    return 1
  PG_PID=$(head -1 "$PG_DIR/data/postmaster.pid")
  PG_HOST=127.0.0.1 PG_PORT=$port PG_SOCKET_DIR=$PG_DIR PG_USER=postgres PG_DB=$db
  "$PG_BIN/psql" -X -q -h "$PG_SOCKET_DIR" -p "$PG_PORT" -U "$PG_USER" -d postgres \
    -c "CREATE DATABASE $db" >>"$PG_DIR/pg_ctl.log" 2>&1 ||
    postgres_private_fail "CREATE DATABASE $db failed: $(tail -3 "$PG_DIR/pg_ctl.log")" ||
    return 1
  PG_URL="postgresql://$PG_USER@$PG_HOST:$PG_PORT/$PG_DB"
  # libpq's keyword form, what Poco::Data::PostgreSQL 1.11 takes (it cannot parse a URL).
  PG_CONNINFO="host=$PG_HOST port=$PG_PORT user=$PG_USER dbname=$PG_DB"
  export PG_DIR PG_BIN PG_HOST PG_PORT PG_SOCKET_DIR PG_USER PG_DB PG_PID PG_URL PG_CONNINFO
  local var
  : >"$PG_DIR/env"
  for var in PG_DIR PG_BIN PG_HOST PG_PORT PG_SOCKET_DIR PG_USER PG_DB PG_PID PG_URL PG_CONNINFO; do
    printf "%s='%s'\n" "$var" "${!var}" >>"$PG_DIR/env"
  done
  echo "postgres-private: PostgreSQL $("$PG_BIN/postgres" -V | awk '{print $3}')" \
    "on $PG_HOST:$PG_PORT (postmaster $PG_PID), $PG_URL"
}

postgres_private_ctl() {
  postgres_private_as_owner "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 "$@"
}

postgres_private_stop() {
  local dir=${1:-${PG_DIR:-}}
  [ -n "$dir" ] && [ -d "$dir" ] || return 0
  local bin=${PG_BIN:-/usr/lib/postgresql/15/bin} pid=""
  [ -f "$dir/data/postmaster.pid" ] && pid=$(head -1 "$dir/data/postmaster.pid")
  [ -z "$pid" ] && [ -f "$dir/env" ] && pid=$(sed -n "s/^PG_PID='\(.*\)'$/\1/p" "$dir/env")
  local stopped=0
  postgres_private_as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 30 stop >/dev/null 2>&1 &&
    stopped=1
  # pg_ctl gave up (or found no postmaster.pid): the PID the server had is ended directly.
  if [ $stopped -eq 0 ] && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
}

postgres_private_stop_on_exit() {
  local dir=$PG_DIR previous
  previous=$(trap -p EXIT)
  if [ -n "$previous" ]; then
    eval "set -- $previous"  # trap -- 'COMMAND' EXIT
    # The earlier handler runs second but must see the script's own exit status (lib.sh's
    # cleanup reads $? to tell a failure): kept here and given back before it runs.
    # shellcheck disable=SC2064
    trap "postgres_private_rc=\$?; postgres_private_stop '$dir'; set +e; (exit \$postgres_private_rc); $3" EXIT
  else
    # shellcheck disable=SC2064
    trap "postgres_private_stop '$dir'" EXIT
  fi
}

# As a command: the ctest fixture's two halves.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  case "${1:-}" in
    start)
      envfile=${2:?usage: postgres-private.sh start ENVFILE}
      if [ -f "$envfile" ]; then
        # A run that was interrupted left its server: end it first.
        stale=$(sed -n "s/^PG_DIR='\(.*\)'$/\1/p" "$envfile")
        postgres_private_stop "$stale"
        rm -f "$envfile"
      fi
      postgres_private_start "${3:-bccsink}"
      cp "$PG_DIR/env" "$envfile"
      ;;
    stop)
      envfile=${2:?usage: postgres-private.sh stop ENVFILE}
      [ -f "$envfile" ] || exit 0
      dir=$(sed -n "s/^PG_DIR='\(.*\)'$/\1/p" "$envfile")
      postgres_private_stop "$dir"
      rm -f "$envfile"
      echo "postgres-private: stopped, $dir removed"
      ;;
    *)
      echo "usage: postgres-private.sh start|stop ENVFILE" >&2
      exit 2
      ;;
  esac
fi
