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

# instance_front NAME COMM USAGE ARGS...: the front of a script that runs one private daemon in a
# dir. Defines die (messages prefixed NAME) and stop_instance (COMM by DIR/COMM.pid); ARGS `stop
# DIR` stops it and exits, `start DIR ...` returns with $dir set (absolute) for the script to go on.
instance_front() {
  instance_name=$1 instance_comm=$2
  local usage=$3
  shift 3
  die() { echo "$instance_name: $*" >&2; exit 2; }
  stop_instance() { stop_pidfile "$dir/$instance_comm.pid" "$instance_comm"; }
  [ $# -ge 2 ] || die "usage: $0 $usage"
  dir=$(realpath -m -- "$2")
  case $1 in
  stop) stop_instance; exit ;;
  start) ;;
  *) die "unknown command: $1" ;;
  esac
}
