# shellcheck shell=bash
# Sourced by scripts/test.sh and scripts/demo.sh: runs a long step so that the script stays
# stoppable while it runs, and that what the step started is stopped with the script.
#
#   run_child CMD...   runs CMD (a command or a shell function) in a process group of its own and
#                      waits for it, returning its status. Bash runs a trap only once the
#                      foreground command has finished, so a SIGTERM to the script would wait for
#                      a whole test tier; `wait` is interrupted at once instead.
#   stop_child         from the script's EXIT trap: SIGTERM to that whole group (npm, jest and the
#                      services jest spawned), SIGKILL after 10 s.
#
# The group is made by job control (`set -m`) for the moment of the fork only: the step keeps the
# script's terminal output and gets no terminal signals of its own (Ctrl-C reaches the script,
# whose trap stops the step).

CHILD_PGID=''

run_child() {
  local rc=0
  set -m
  # inside, job control off again: the step's own background jobs stay in its group
  (
    set +m
    "$@"
  ) 8>&- 9>&- &
  CHILD_PGID=$!
  set +m
  wait "$CHILD_PGID" || rc=$?
  CHILD_PGID=''
  return "$rc"
}

stop_child() {
  local pgid=$CHILD_PGID i
  [ -n "$pgid" ] || return 0
  CHILD_PGID=''
  kill -TERM -- "-$pgid" 2>/dev/null || return 0
  for i in $(seq 1 50); do
    kill -0 -- "-$pgid" 2>/dev/null || return 0
    sleep 0.2
  done
  echo "stopping process group $pgid: still running after 10 s, SIGKILL" >&2
  kill -KILL -- "-$pgid" 2>/dev/null || true
}
