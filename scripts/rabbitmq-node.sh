#!/usr/bin/env bash
# A private RabbitMQ node in DIR, beside the shared broker (recipe: shared RABBITMQ-RECIPES.md §1).
#   start NAME AMQP DIST MGMT DIR [plugin..]   MGMT 0: no management plugin
#   stop DIR | ctl NAME DIR ARGS..             ctl: rabbitmqctl against that node
# Everything listens on 127.0.0.1; the node has its own cookie, config, plugins and mnesia in DIR.
# DIR/extra.conf is appended to rabbitmq.conf, DIR/advanced.config is used if present, DIR/erl-args
# (one line, e.g. "+sbwt none") is added to the Erlang VM's arguments. Must run as root.
set -euo pipefail
# Not /usr/sbin/*: as root those su to user rabbitmq and take the shared broker's cookie.
B=/usr/lib/rabbitmq/bin
die() { echo "rabbitmq-node: $*" >&2; exit 2; }
# The cookie is $HOME/.erlang.cookie for both server and CLI. Without RABBITMQ_CONF_ENV_FILE,
# /etc/rabbitmq/rabbitmq-env.conf (the shared broker's) would be read. epmd is shared: loopback only.
envs() { export HOME=$1 RABBITMQ_CONF_ENV_FILE=$1/env.conf ERL_EPMD_ADDRESS=127.0.0.1; }
[ $# -ge 2 ] || die "usage: $0 start NAME AMQP DIST MGMT DIR [plugin..] | stop DIR | ctl NAME DIR ARGS.."

case $1 in
start)
  [ $# -ge 6 ] || die "usage: $0 start NAME AMQP DIST MGMT DIR [plugin..]"
  N=$2 A=$3 DP=$4 M=$5 D=$6
  shift 6
  mkdir -p "$D/log"
  envs "$D"
  : > "$D/env.conf"
  [ -f "$D/.erlang.cookie" ] || head -c16 /dev/urandom | md5sum | cut -c1-20 > "$D/.erlang.cookie"
  chmod 400 "$D/.erlang.cookie" # Erlang refuses a cookie others may read
  {
    echo "listeners.tcp.default = 127.0.0.1:$A"
    [ "$M" = 0 ] || printf 'management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = %s\n' "$M"
    cat "$D/extra.conf" 2>/dev/null || true
  } > "$D/rabbitmq.conf"
  P=("$@")
  [ "$M" = 0 ] || P+=(rabbitmq_management)
  (IFS=,; echo "[${P[*]}]." > "$D/enabled_plugins")
  export RABBITMQ_NODENAME=$N RABBITMQ_DIST_PORT=$DP RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE=$D/mnesia RABBITMQ_LOG_BASE=$D/log RABBITMQ_CONFIG_FILE=$D/rabbitmq.conf \
    RABBITMQ_ADVANCED_CONFIG_FILE=$D/advanced.config RABBITMQ_ENABLED_PLUGINS_FILE=$D/enabled_plugins \
    RABBITMQ_PID_FILE=$D/node.pid \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1} $(cat "$D/erl-args" 2>/dev/null || true)"
  # A node that fails to boot dumps erl_crash.dump into its working directory: not the caller's.
  export ERL_CRASH_DUMP=$D/erl_crash.dump
  rm -f "$D/node.pid" # stale after kill -9
  # setsid: a Ctrl-C meant for the caller must not reach the node; its output goes to the log only,
  # so a caller reading our stdout is not held open by it.
  (cd "$D" && exec setsid "$B/rabbitmq-server" > "$D/log/stdout.log" 2>&1 < /dev/null) &
  server=$!
  # `rabbitmqctl wait` fails (rc 69) if the node dies once its pid file is there, but waits out its
  # timeout if the node dies before writing it (dist port taken): watch that part ourselves.
  for _ in $(seq 600); do
    [ -s "$D/node.pid" ] && break
    [ -n "$(ps -o stat= -p "$server" | grep -v '^Z')" ] || break # dead (our zombie until we exit)
    sleep 0.1
  done
  if ! [ -s "$D/node.pid" ] || ! "$B/rabbitmqctl" -n "$N" wait --timeout 60 "$D/node.pid" > /dev/null; then
    echo "rabbitmq-node: $N did not boot; tail of $D/log/stdout.log:" >&2
    tail -n 20 "$D/log/stdout.log" >&2 || true
    # Callers retry on this (freePort races): the tail may not show the cause.
    if grep -qs -e eaddrinuse -e dist_port_already_used "$D/log/stdout.log"; then
      echo "rabbitmq-node: a port is taken (eaddrinuse)" >&2
    fi
    exit 1
  fi
  ;;
stop)
  D=$2
  p=$(cat "$D/node.pid" 2>/dev/null) || exit 0
  # The pid file outlives a node that died at boot: never signal whatever reuses its pid.
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = beam.smp ] || exit 0
  kill -TERM "$p" 2>/dev/null || exit 0
  # With management, the stats collector makes a stop take ~6 s; 30 s is a hang.
  for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || exit 0; sleep 0.1; done
  echo "rabbitmq-node: $p ignored SIGTERM for 30 s; killing it" >&2
  kill -9 "$p"
  ;;
ctl)
  [ $# -ge 3 ] || die "usage: $0 ctl NAME DIR ARGS.."
  N=$2 D=$3
  shift 3
  envs "$D"
  exec "$B/rabbitmqctl" -n "$N" "$@"
  ;;
*) die "unknown command: $1" ;;
esac
