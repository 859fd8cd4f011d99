#!/usr/bin/env bash
# A private Postfix instance in DIR for tests and the demo (recipes: shared POSTFIX-RECIPES.md §1, §2).
#   start DIR --public PORT --sink PORT [--filter PORT] [--reinject PORT] [--main-cf 'name = value']...
#         [--mode plain|after-queue-smtp|after-queue-lmtp|before-queue|pipe] [--pipe-command PATH]
#   stop DIR | flush DIR | queue DIR (postqueue -j: one JSON object per line)
# Everything listens on 127.0.0.1; all mail is relayed to [127.0.0.1]:SINK. --reinject adds an smtpd
# without content_filter (the filter's way back in). after-queue-smtp (the default when --filter is
# given) routes every mail through content_filter = scan:[127.0.0.1]:FILTER. pipe runs PATH (as
# nobody, in place of psf-pipe) for every mail the public smtpd queues. Must run as root.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

die() { echo "postfix-instance: $*" >&2; exit 2; }
[ $# -ge 2 ] || die "usage: $0 start|stop|flush|queue DIR [options]"
cmd=$1
dir=$(realpath -m -- "$2") # Postfix wants absolute paths
shift 2

stop_instance() {
  [ -f "$dir/etc/main.cf" ] || return 0
  local master pid
  master=$(postconf -c "$dir/etc" -h daemon_directory)/master
  # `master -t` fails while master holds its pid file lock (a dead master may linger as a zombie here).
  "$master" -c "$dir/etc" -t 2>/dev/null && return 0 # not running
  pid=$(($(sed 1q "$dir/spool/pid/master.pid")))
  # What `postfix stop` does, but it re-checks only once a second: stopping took 1 s, not 0.05 s.
  kill -TERM "$pid"
  for _ in $(seq 200); do "$master" -c "$dir/etc" -t 2>/dev/null && return 0; sleep 0.05; done
  echo "postfix-instance: master $pid ignored SIGTERM for 10 s; killing its process group" >&2
  kill -KILL -- "-$pid"
}

case $cmd in
stop) stop_instance; exit ;;
flush) exec postqueue -c "$dir/etc" -f ;;
queue) exec postqueue -c "$dir/etc" -j ;;
start) ;;
*) die "unknown command: $cmd" ;;
esac

public='' sink='' filter='' reinject='' mode='' pipe_command='' extra_main=()
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || die "missing value for $1"
  case $1 in
  --public) public=$2 ;;
  --sink) sink=$2 ;;
  --filter) filter=$2 ;;
  --reinject) reinject=$2 ;;
  --mode) mode=$2 ;;
  --pipe-command) pipe_command=$2 ;;
  --main-cf) extra_main+=("$2") ;;
  *) die "unknown option: $1" ;;
  esac
  shift 2
done
[ -n "$mode" ] || { [ -n "$filter" ] && mode=after-queue-smtp || mode=plain; }
[ -n "$public" ] && [ -n "$sink" ] || die "start needs --public PORT and --sink PORT"
case $mode in
plain) ;;
after-queue-smtp | after-queue-lmtp | before-queue)
  [ -n "$filter" ] && [ -n "$reinject" ] || die "$mode needs --filter and --reinject" ;;
pipe)
  [ -n "$reinject" ] && [ -n "$pipe_command" ] || die "pipe needs --reinject and --pipe-command"
  # master.cf splits argv= at white space; sed below takes it as a replacement.
  [[ $pipe_command =~ ^/[A-Za-z0-9._/-]+$ ]] || die "--pipe-command must be an absolute path of [A-Za-z0-9._/-]" ;;
*) die "unknown mode: $mode" ;;
esac
[ "$(id -u)" = 0 ] || die "must run as root"

# queue_directory must be root-owned and reachable by the postfix user through every parent.
mkdir -p "$dir/etc" "$dir/spool"
chown root:root "$dir" "$dir/etc" "$dir/spool"
chmod 755 "$dir" "$dir/etc" "$dir/spool"
runuser -u postfix -- test -x "$dir/spool" || die "$dir is not searchable by user postfix (chmod 755 its parents)"

# A restart must pick up new ports: stop a running instance first.
stop_instance

cat > "$dir/etc/main.cf" <<CF
compatibility_level = 3.6
queue_directory = $dir/spool
data_directory = $dir/data
maillog_file = $dir/maillog
maillog_file_prefixes = $dir
myhostname = pf.test
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:$sink
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_client_port_logging = yes
# Tests: retry deferred mail within seconds, never throttle a burst.
minimal_backoff_time = 2s
maximal_backoff_time = 4s
queue_run_delay = 1s
in_flow_delay = 0
CF
# The filter wiring is the gateway example's snippets, pasted as an admin would, with this
# instance's ports in place of 10025 (gateway) and 10026 (reinjection).
snippets=$(dirname "$0")/../examples/gateway/postfix
# A mode whose snippet redefines the public smtpd (`smtp inet ...`: before-queue, pipe) replaces
# the plain one; it listens on this instance's public port.
snippet() {
  sed -e "s/:10025\b/:$filter/g" -e "s/:10026\b/:$reinject/g" -e "s/^smtp\([[:space:]]\+inet\)/127.0.0.1:$public\1/" \
    -e "s|/usr/local/bin/psf-pipe\b|$pipe_command|" "$snippets/$1"
}
public_smtpd="127.0.0.1:$public inet n - n - - smtpd"
if grep -qs '^smtp[[:space:]]\+inet' "$snippets/$mode.master.cf"; then public_smtpd=''; fi
if [ -f "$snippets/$mode.main.cf" ]; then snippet "$mode.main.cf" >> "$dir/etc/main.cf"; fi
# Test overrides (--main-cf 'name = value'): last in main.cf, so they win.
if [ ${#extra_main[@]} -gt 0 ]; then printf '%s\n' "${extra_main[@]}" >> "$dir/etc/main.cf"; fi

cat > "$dir/etc/master.cf" <<CF
$public_smtpd
pickup    unix n - n 60 1 pickup
cleanup   unix n - n - 0 cleanup
qmgr      unix n - n 300 1 qmgr
rewrite   unix - - n - - trivial-rewrite
bounce    unix - - n - 0 bounce
defer     unix - - n - 0 bounce
trace     unix - - n - 0 bounce
verify    unix - - n - 1 verify
flush     unix n - n 1000? 0 flush
proxymap  unix - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix - - n - - smtp
relay     unix - - n - - smtp
showq     unix n - n - - showq
error     unix - - n - - error
retry     unix - - n - - error
discard   unix - - n - - discard
lmtp      unix - - n - - lmtp
anvil     unix - - n - 1 anvil
scache    unix - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
CF
if [ -f "$snippets/$mode.master.cf" ]; then snippet "$mode.master.cf" >> "$dir/etc/master.cf"; fi
# The shared reinjection smtpd, unless the mode brings its own (before-queue).
if [ -n "$reinject" ] && ! grep -qs ':10026' "$snippets/$mode.master.cf"; then
  snippet reinject.master.cf >> "$dir/etc/master.cf"
fi
# Postfix waits (2 s) while main.cf is younger than 2 s; backdate the files.
touch -d -5sec "$dir/etc/main.cf" "$dir/etc/master.cf"

# `postfix start` reports errors only to a tty: show the cause from the maillog.
if ! postfix -c "$dir/etc" start >/dev/null 2>&1; then
  echo "postfix-instance: postfix start failed in $dir; tail of $dir/maillog:" >&2
  tail -n 20 "$dir/maillog" >&2 2>/dev/null || true
  exit 1
fi
