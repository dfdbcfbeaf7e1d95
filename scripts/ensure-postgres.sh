#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (Debian: installs `postgresql` with
# apt-get when absent, starts a stopped cluster), for tests and the demo.
#
#   scripts/ensure-postgres.sh                       install/start only
#   scripts/ensure-postgres.sh createdb NAME [--fresh]
#       also creates database NAME (dropped first with --fresh) and prints its URL on stdout:
#       DATABASE_URL=$(scripts/ensure-postgres.sh createdb dialnexa_teardown_test --fresh)
#
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGUSER (postgres), PGPASSWORD (postgres).
# The URL carries the password; a server with `trust` authentication ignores it. A freshly
# installed Debian server asks local TCP clients for a password: when the login fails and this
# runs as root, the role's password is set to PGPASSWORD through the local socket (a test
# machine's server; say PGPASSWORD=... to use another).
set -euo pipefail

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGUSER=${PGUSER:-postgres}
export PGPASSWORD=${PGPASSWORD:-postgres} PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5}

log() { echo "ensure-postgres: $*" >&2; }
die() {
  log "$*"
  exit 1
}

# psql as the server's superuser over the local socket (peer authentication), for set-up only.
psql_local() { runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres -p "$PGPORT" -h /var/run/postgresql "$@"; }
psql_tcp() { PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d postgres "$@"; }

apt_install() {
  [ "$(id -u)" = 0 ] || die "PostgreSQL is not installed: run as root, or: sudo apt-get install -y $*"
  log "installing $* (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "$@" >&2
}

urlencode() {
  local s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case "$c" in
      [A-Za-z0-9._~-]) out+=$c ;;
      *) printf -v c '%%%02X' "'$c" && out+=$c ;;
    esac
  done
  echo "$out"
}

answers() { pg_isready -q -h "$PGHOST" -p "$PGPORT" -t 2 2>/dev/null; }

ensure_running() {
  if ! command -v pg_isready >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
    apt_install postgresql-client
  fi
  answers && return 0
  case "$PGHOST" in 127.0.0.1 | localhost) ;; *) die "nothing answers on $PGHOST:$PGPORT" ;; esac
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
  fi
  local version
  version=$(find /etc/postgresql -mindepth 1 -maxdepth 1 -type d -printf "%f\n" | sort -V | tail -n 1)
  if [ ! -d "/etc/postgresql/$version/main" ]; then
    log "creating cluster $version/main"
    pg_createcluster --port "$PGPORT" "$version" main >&2
  fi
  log "starting PostgreSQL $version/main"
  # --skip-systemctl-redirect: containers and CI machines have no systemd.
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
  local i
  for i in $(seq 1 60); do
    answers && return 0
    sleep 0.5
  done
  die "PostgreSQL $version/main does not answer on $PGHOST:$PGPORT (see /var/log/postgresql/)"
}

ensure_login() {
  local err
  err=$(psql_tcp -c 'select 1' 2>&1 >/dev/null) && return 0
  if [ "$(id -u)" = 0 ] && [ "$PGUSER" = postgres ] && echo "$err" | grep -q 'password authentication failed\|no password supplied'; then
    log "setting the password of role postgres (to PGPASSWORD) so that TCP logins work"
    psql_local -c "ALTER ROLE postgres WITH PASSWORD '${PGPASSWORD//\'/\'\'}'" >/dev/null
    psql_tcp -c 'select 1' >/dev/null && return 0
  fi
  die "cannot log in as $PGUSER on $PGHOST:$PGPORT: $err"
}

createdb_cmd() {
  local name=${1:-} fresh=${2:-}
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "usage: $0 createdb NAME [--fresh] (NAME: letters, digits, _)"
  case "$fresh" in "" | --fresh) ;; *) die "unknown option $fresh" ;; esac
  if [ "$fresh" = --fresh ]; then
    psql_tcp -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
  fi
  if [ -z "$(psql_tcp -At -c "SELECT 1 FROM pg_database WHERE datname = '$name'")" ]; then
    psql_tcp -c "CREATE DATABASE \"$name\"" >/dev/null
    log "database $name created${fresh:+ (fresh)}"
  else
    log "database $name exists"
  fi
  echo "postgresql://$(urlencode "$PGUSER"):$(urlencode "$PGPASSWORD")@$PGHOST:$PGPORT/$name"
}

ensure_running
ensure_login
case "${1:-}" in
  "") log "PostgreSQL answers on $PGHOST:$PGPORT" ;;
  createdb)
    shift
    createdb_cmd "$@"
    ;;
  *) die "usage: $0 [createdb NAME [--fresh]]" ;;
esac
