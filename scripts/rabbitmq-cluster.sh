#!/usr/bin/env bash
# Three private RabbitMQ nodes clustered in DIR, beside the shared broker (scripts/rabbitmq-node.sh
# for each; recipe: shared RABBITMQ-RECIPES.md §4). Everything on 127.0.0.1. Must run as root.
#   up DIR [A:D:M A:D:M A:D:M]   start and join nodes 1-3; ports AMQP:DIST:MGMT each (MGMT 0: no
#                                management plugin), default 5691:25691:15691, 5692:..., 5693:...
#   down DIR (or stop DIR)       stop the three nodes (by PID)
#   ctl DIR I ARGS..             rabbitmqctl against node I
#   kill DIR I | start DIR I     kill -9 node I | start it again (it rejoins the cluster by itself)
# DIR/nodes lists `NAME AMQP DIST MGMT` per node; DIR/cN is node N's dir (cookie, mnesia, log/).
set -euo pipefail
NODE=$(dirname "$0")/rabbitmq-node.sh
die() { echo "rabbitmq-cluster: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: $0 up DIR [A:D:M x3] | down DIR | ctl DIR I ARGS.. | kill DIR I | start DIR I"
CMD=$1 D=$2
shift 2
field() { awk -v i="$1" -v f="$2" 'NR == i { print $f }' "$D/nodes"; }
ctl() { local i=$1; shift; "$NODE" ctl "$(field "$i" 1)" "$D/c$i" "$@"; }
boot() { "$NODE" start "$(field "$1" 1)" "$(field "$1" 2)" "$(field "$1" 3)" "$(field "$1" 4)" "$D/c$1"; }

case $CMD in
up)
  if [ $# -eq 0 ]; then ports=(5691:25691:15691 5692:25692:15692 5693:25693:15693); else ports=("$@"); fi
  [ ${#ports[@]} -eq 3 ] || die "up takes three A:D:M port triples (or none)"
  mkdir -p "$D"
  # Distinct names, so several clusters (and the shared broker) can share epmd.
  tag=$(head -c3 /dev/urandom | od -An -tx1 | tr -d ' \n')
  cookie=$(head -c16 /dev/urandom | md5sum | cut -c1-20)
  : > "$D/nodes"
  for i in 1 2 3; do
    IFS=: read -r a dp m <<< "${ports[$((i - 1))]}"
    echo "psf-c$i-$tag@localhost $a $dp $m" >> "$D/nodes"
    # One cookie for all three: Erlang distribution admits only nodes that share it.
    mkdir -p "$D/c$i"
    echo -n "$cookie" > "$D/c$i/.erlang.cookie"
  done
  pids=()
  for i in 1 2 3; do boot "$i" & pids+=($!); done
  failed=0
  for p in "${pids[@]}"; do wait "$p" || failed=1; done
  [ $failed = 0 ] || { "$0" down "$D"; die "a node did not boot"; }
  # join_cluster wants the joining node's app stopped; it resets nothing else (fresh nodes).
  for i in 2 3; do
    ctl "$i" stop_app > /dev/null
    # Its "tracked connection table" errors are harmless: shown only if the join fails.
    out=$(ctl "$i" join_cluster "$(field 1 1)" 2>&1) || { echo "$out" >&2; "$0" down "$D"; exit 1; }
    ctl "$i" start_app > /dev/null
  done
  ctl 1 await_online_nodes 3 --timeout 60 > /dev/null 2>&1 || true
  echo "cluster up: $(ctl 1 cluster_status --formatter json | grep -o '"running_nodes":\[[^]]*\]')"
  ;;
down | stop)
  [ -f "$D/nodes" ] || exit 0
  pids=()
  for i in 1 2 3; do "$NODE" stop "$D/c$i" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p" || true; done
  ;;
ctl)
  [ $# -ge 1 ] || die "usage: $0 ctl DIR I ARGS.."
  i=$1
  shift
  ctl "$i" "$@"
  ;;
kill)
  [ $# -eq 1 ] || die "usage: $0 kill DIR I"
  p=$(cat "$D/c$1/node.pid")
  [ "$(cat "/proc/$p/comm" 2>/dev/null)" = beam.smp ] || die "node $1 is not running"
  kill -9 "$p"
  ;;
start)
  [ $# -eq 1 ] || die "usage: $0 start DIR I"
  boot "$1"
  ;;
*) die "unknown command: $CMD" ;;
esac
