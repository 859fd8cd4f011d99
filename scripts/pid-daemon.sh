# Sourced by the instance scripts: stopping a private daemon known by its pid file.

# A zombie still answers kill -0; nobody may reap the daemon for a while once our shell is gone.
alive() { [ -n "$(ps -o stat= -p "$1" 2>/dev/null | grep -v '^Z')" ]; }

# stop_pidfile PIDFILE COMM: SIGTERM the daemon, SIGKILL after 10 s; the pid file is removed.
stop_pidfile() {
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 0
  # The pid file can outlive the daemon: never signal whatever reuses its pid.
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] && kill -TERM "$pid" 2>/dev/null; then
    for _ in $(seq 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      echo "$2 $pid ignored SIGTERM for 10 s; killing it" >&2
      kill -KILL "$pid"
    fi
  fi
  rm -f "$1"
}
