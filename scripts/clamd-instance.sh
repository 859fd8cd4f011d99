#!/usr/bin/env bash
# A private ClamAV clamd in DIR for tests, offline: its only signature database is DIR/db/psf-test.ndb,
# which knows the EICAR test file as Psf.Test.EICAR (no freshclam, no network; the packaged daemon
# and its databases stay untouched).
#   start DIR PORT   listens on 127.0.0.1:PORT (clamd's TCP protocol: PING, INSTREAM...)
#   stop DIR         the caller removes DIR
# Needs the clamav-daemon package (scripts/services.sh).
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# shellcheck source=pid-daemon.sh
. "$(dirname "$0")/pid-daemon.sh"
instance_front clamd-instance clamd "start DIR PORT | stop DIR" "$@"
[ $# -eq 3 ] && [[ $3 =~ ^[0-9]+$ ]] || die "usage: $0 start DIR PORT"
port=$3
command -v clamd > /dev/null || die "clamd missing: run scripts/services.sh"

mkdir -p "$dir/db"
stop_instance
# An extended signature: any file containing the 68 bytes of the EICAR test string.
eicar='X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'
echo "Psf.Test.EICAR:0:*:$(printf '%s' "$eicar" | od -An -tx1 -v | tr -d ' \n')" > "$dir/db/psf-test.ndb"
cat > "$dir/clamd.conf" <<CONF
TCPSocket $port
TCPAddr 127.0.0.1
DatabaseDirectory $dir/db
PidFile $dir/clamd.pid
LogFile $dir/clamd.log
Foreground yes
SelfCheck 0
CONF

setsid clamd -c "$dir/clamd.conf" > "$dir/stdout.log" 2>&1 < /dev/null &
pid=$!
# clamd's PING, in a subshell: its connection and stderr go with it.
up() {
  (
    exec 3<> "/dev/tcp/127.0.0.1/$port"
    printf 'zPING\0' >&3
    IFS= read -r -d '' -t 2 reply <&3
    [ "$reply" = PONG ]
  ) 2> /dev/null
}
for _ in $(seq 300); do
  up && exit 0
  alive "$pid" || break
  sleep 0.1
done
echo "clamd-instance: clamd did not answer on 127.0.0.1:$port; $dir/stdout.log:" >&2
tail -n 20 "$dir/stdout.log" >&2 || true
kill -TERM "$pid" 2> /dev/null || true
exit 1
