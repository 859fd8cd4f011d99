#!/usr/bin/env bash
# A private SpamAssassin spamd in DIR for tests and benchmarks, offline and deterministic.
#   start DIR PORT   listens on 127.0.0.1:PORT, accepts 127.0.0.1 only
#   stop DIR         the caller removes DIR
# Rules: the package's own (/usr/share/spamassassin, no sa-update needed), local tests only (-L:
# no DNS, no network checks), no Bayes and no auto-learning, site config in DIR/site. Per-user
# preferences (spamc's User: header) come from DIR/users/<user>/user_prefs: `strict` is seeded
# with required_score 1.0. Children run as nobody. Needs the spamassassin package
# (scripts/services.sh); the packaged daemon stays stopped.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# shellcheck source=pid-daemon.sh
. "$(dirname "$0")/pid-daemon.sh"
instance_front spamd-instance spamd "start DIR PORT | stop DIR" "$@"
[ $# -eq 3 ] && [[ $3 =~ ^[0-9]+$ ]] || die "usage: $0 start DIR PORT"
port=$3
command -v spamd > /dev/null && command -v spamc > /dev/null ||
  die "spamd or spamc missing: run scripts/services.sh"

mkdir -p "$dir"
stop_instance
mkdir -p "$dir/site" "$dir/home" "$dir/users/strict"
# The plugin loads (.pre) as packaged; our own local.cf instead of the machine's.
cp /etc/spamassassin/*.pre "$dir/site/"
cat > "$dir/site/local.cf" <<CF
use_bayes 0
bayes_auto_learn 0
dns_available no
skip_rbl_checks 1
CF
echo 'required_score 1.0' > "$dir/users/strict/user_prefs"
# Children run as nobody and read the config and prefs.
chmod -R a+rX "$dir"

# In the foreground, in the background: spamd's log goes to DIR/spamd.log, not syslog.
setsid spamd -L -x --virtual-config-dir="$dir/users/%u" -u nobody \
  -i "127.0.0.1:$port" -A 127.0.0.1 -m 4 --min-children 2 \
  --siteconfigpath "$dir/site" -H "$dir/home" -r "$dir/spamd.pid" -s stderr \
  > "$dir/spamd.log" 2>&1 < /dev/null &
pid=$!
up() { spamc -d 127.0.0.1 -p "$port" -t 2 -K > /dev/null 2>&1; }
for _ in $(seq 300); do
  up && exit 0
  alive "$pid" || break
  sleep 0.1
done
echo "spamd-instance: spamd did not answer on 127.0.0.1:$port; $dir/spamd.log:" >&2
tail -n 20 "$dir/spamd.log" >&2 || true
kill -TERM "$pid" 2>/dev/null || true
exit 1
