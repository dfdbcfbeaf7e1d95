#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (Debian: installs `postgresql` with
# apt-get when absent, starts a stopped cluster), for tests, the demo and the bench.
#
#   scripts/ensure-postgres.sh                       install/start only
#   scripts/ensure-postgres.sh createdb NAME [--fresh]
#       also creates database NAME (dropped first with --fresh), owned by the project's role, and
#       prints its URL on stdout (it carries the role's password: capture it, never echo it):
#       DATABASE_URL=$(scripts/ensure-postgres.sh createdb dialnexa_teardown_test --fresh)
#
# It leaves the server's own roles and passwords alone. The project's databases belong to a
# role of its own, DIALNEXA_PGUSER (dialnexa_teardown: LOGIN, nothing more), created when
# missing, with a random password kept in DIALNEXA_PG_PASSWORD_FILE
# (~/.local/state/dialnexa-teardown/pg-password, mode 600). Only that role's password is ever set.
# Databases are created and dropped through an administrator connection: as root, the `postgres`
# OS user over the local socket (peer authentication, no password); otherwise PGADMIN_USER
# (postgres) over TCP, with the caller's own PGPASSWORD or ~/.pgpass if the server asks for one.
#
# Environment: PGHOST (127.0.0.1), PGPORT (5432), PGADMIN_USER (postgres), DIALNEXA_PGUSER,
# DIALNEXA_PG_PASSWORD_FILE. Nothing it prints holds a password, except the URL on stdout.
set -euo pipefail

export PGHOST=${PGHOST:-127.0.0.1} PGPORT=${PGPORT:-5432} PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-5}
ADMIN_USER=${PGADMIN_USER:-postgres}
ROLE=${DIALNEXA_PGUSER:-dialnexa_teardown}
PASSWORD_FILE=${DIALNEXA_PG_PASSWORD_FILE:-${XDG_STATE_HOME:-${HOME:-/root}/.local/state}/dialnexa-teardown/pg-password}
SOCKET_DIR=/var/run/postgresql

log() { echo "ensure-postgres: $*" >&2; }
die() {
  log "$*"
  exit 1
}

[[ $ROLE =~ ^[a-z_][a-z0-9_]*$ ]] || die "DIALNEXA_PGUSER must be a lower-case SQL name"

# The administrator's connection, for set-up only (roles, databases).
psql_admin() {
  if [ "$(id -u)" = 0 ] && [ -S "$SOCKET_DIR/.s.PGSQL.$PGPORT" ] && id postgres >/dev/null 2>&1; then
    PGOPTIONS="-c client_min_messages=warning" \
      runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PGPORT" -d postgres "$@"
  else
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -U "$ADMIN_USER" -d postgres "$@"
  fi
}

# The project's role over TCP, as the tests and the service connect.
psql_role() {
  PGPASSWORD=$(cat "$PASSWORD_FILE") PGOPTIONS="-c client_min_messages=warning" \
    psql -X -q -v ON_ERROR_STOP=1 -U "$ROLE" "$@"
}

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

# The project's role, created when missing, and its password, made when missing. An existing
# role keeps its password unless it no longer matches the kept one (it is ours: nobody else's
# login changes).
ensure_role() {
  local err
  err=$(psql_admin -c 'select 1' 2>&1 >/dev/null) ||
    die "cannot connect as an administrator ($err): run as root (the postgres OS user over the local socket), or give PGADMIN_USER and its PGPASSWORD (or ~/.pgpass) for a role that may create roles and databases"
  if [ ! -s "$PASSWORD_FILE" ]; then
    # Made aside and linked into place: of two runs starting at once, one password wins.
    local made
    mkdir -p "$(dirname "$PASSWORD_FILE")"
    made=$(umask 077 && mktemp "$PASSWORD_FILE.XXXXXX")
    od -An -N20 -tx1 /dev/urandom | tr -d ' \n' >"$made"
    ln "$made" "$PASSWORD_FILE" 2>/dev/null || true
    rm -f "$made"
  fi
  chmod 600 "$PASSWORD_FILE"
  if [ -z "$(psql_admin -At -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" ]; then
    log "creating role $ROLE (LOGIN; password in $PASSWORD_FILE)"
    # On stdin, never on a command line where `ps` would show it; the password is hex. A run
    # creating the role at the same moment is no error.
    psql_admin >/dev/null <<SQL
DO \$\$ BEGIN
  CREATE ROLE "$ROLE" LOGIN PASSWORD '$(cat "$PASSWORD_FILE")';
EXCEPTION WHEN duplicate_object THEN NULL;
END \$\$;
SQL
  fi
  err=$(psql_role -d postgres -c 'select 1' 2>&1 >/dev/null) && return 0
  if echo "$err" | grep -q 'password authentication failed'; then
    log "role $ROLE: setting its password to the one kept in $PASSWORD_FILE"
    psql_admin >/dev/null <<SQL
ALTER ROLE "$ROLE" PASSWORD '$(cat "$PASSWORD_FILE")';
SQL
    psql_role -d postgres -c 'select 1' >/dev/null && return 0
  fi
  die "cannot log in as $ROLE on $PGHOST:$PGPORT: $err"
}

createdb_cmd() {
  local name=${1:-} fresh=${2:-} owner
  [[ $name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "usage: $0 createdb NAME [--fresh] (NAME: letters, digits, _)"
  case "$fresh" in "" | --fresh) ;; *) die "unknown option $fresh" ;; esac
  if [ "$fresh" = --fresh ]; then
    psql_admin -c "DROP DATABASE IF EXISTS \"$name\" WITH (FORCE)" >/dev/null
  fi
  owner=$(psql_admin -At -c "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = '$name'")
  if [ -z "$owner" ]; then
    psql_admin -c "CREATE DATABASE \"$name\" OWNER \"$ROLE\"" >/dev/null
    log "database $name created${fresh:+ (fresh)}, owned by $ROLE"
  elif [ "$owner" = "$ROLE" ]; then
    log "database $name exists"
  else
    die "database $name exists, owned by $owner, not $ROLE: use --fresh to recreate it"
  fi
  echo "postgresql://$(urlencode "$ROLE"):$(urlencode "$(cat "$PASSWORD_FILE")")@$PGHOST:$PGPORT/$name"
}

ensure_running
ensure_role
case "${1:-}" in
  "") log "PostgreSQL answers on $PGHOST:$PGPORT" ;;
  createdb)
    shift
    createdb_cmd "$@"
    ;;
  *) die "usage: $0 [createdb NAME [--fresh]]" ;;
esac
