#!/usr/bin/env bash
# A private rspamd in DIR for tests and benchmarks, deterministic and offline.
#   start DIR PORT [CACHE [MILTER_PORT]]
#                    one normal (scanner) worker on 127.0.0.1:PORT, /checkv2 answers there;
#                    CACHE: a dir where instances keep compiled hyperscan databases ('' for none);
#                    MILTER_PORT: also a proxy worker in milter mode there (Postfix's smtpd_milters),
#                    scanning itself (self_scan) with one process per core
#   stop DIR         the caller removes DIR
# Debian's packaged rules and scores ($CONFDIR) with our own local.d in DIR/local.d: no controller
# or fuzzy worker (a proxy only with MILTER_PORT), no Redis (so no Bayes, greylisting, ratelimit or
# reputation), and every module that asks DNS or fetches maps over the network is off. The resolver
# points at a closed local port as well, so whatever is left fails at once instead of reaching out.
# Needs the rspamd package (scripts/services.sh); the packaged daemon stays stopped.
set -euo pipefail
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

# shellcheck source=pid-daemon.sh
. "$(dirname "$0")/pid-daemon.sh"
instance_front rspamd-instance rspamd "start DIR PORT [CACHE] | stop DIR" "$@"
[ $# -ge 3 ] && [ $# -le 5 ] && [[ $3 =~ ^[0-9]+$ ]] && [[ ${5:-0} =~ ^[0-9]+$ ]] ||
  die "usage: $0 start DIR PORT [CACHE [MILTER_PORT]]"
port=$3
milter_port=${5:-}
command -v rspamd > /dev/null || die "rspamd missing: run scripts/services.sh"

mkdir -p "$dir"
stop_instance
mkdir -p "$dir/local.d" "$dir/db"
# Compiling the hyperscan databases (DIR/db/*.hsmp) takes ~10 s: CACHE keeps them for the next
# instance (files named by content hash, written by rename).
hs_cache=${4:-}
if [ -n "$hs_cache" ]; then
  mkdir -p "$hs_cache"
  cp -n "$hs_cache"/*.hsmp "$dir/db/" 2>/dev/null || true
fi

cat > "$dir/rspamd.conf" <<CONF
.include "\$CONFDIR/common.conf"
options {
  .include "\$CONFDIR/options.inc"
  # No network: DNS goes to a closed local port and fails at once.
  dns { nameserver = ["127.0.0.1:1"]; timeout = 0.1s; retransmits = 0; }
  tempdir = "$dir";
  control_socket = "";
}
logging {
  type = "file";
  filename = "$dir/rspamd.log";
  level = "warning";
}
worker "normal" {
  bind_socket = "127.0.0.1:$port";
  count = 1;
  .include "\$CONFDIR/worker-normal.inc"
}
CONF
if [ -n "$milter_port" ]; then
  cat >> "$dir/rspamd.conf" <<CONF
worker "rspamd_proxy" {
  bind_socket = "127.0.0.1:$milter_port";
  milter = yes;
  timeout = 120s;
  count = $(nproc);
  upstream "local" { default = yes; self_scan = yes; }
  discard_on_reject = false;
  quarantine_on_reject = false;
  spam_header = "X-Spam";
}
CONF
  # The verdict on every mail, as amavisd and psf write theirs: X-Spam-Status: No, score=...
  printf 'use = ["x-spam-status"];\nskip_local = false;\n' > "$dir/local.d/milter_headers.conf"
fi

# Modules that use DNS, Redis or maps fetched over the network (multimap: the freemail lists).
for m in arc asn bimi dcc dkim dkim_signing dmarc emails external_relay external_services \
  fuzzy_check greylist history_redis hfilter maillist metadata_exporter metric_exporter mid \
  mx_check neural p0f phishing ratelimit rbl replies reputation rspamd_update spamtrap spf surbl \
  url_redirector whitelist clickhouse elastic antivirus multimap; do
  echo 'enabled = false;' > "$dir/local.d/$m.conf"
done
# Bayes needs Redis: no statistics here.
echo 'classifier "bayes" { backend = "redis"; servers = ""; }' > "$dir/local.d/classifier-bayes.conf"

# rspamd refuses to run workers as root: _rspamd (the package's user) owns the dir.
chown -R _rspamd:_rspamd "$dir"
setsid rspamd -f -u _rspamd -g _rspamd -c "$dir/rspamd.conf" \
  --var "LOCAL_CONFDIR=$dir" --var "DBDIR=$dir/db" --var "RUNDIR=$dir" --var "LOGDIR=$dir" \
  > "$dir/rspamd.out" 2>&1 < /dev/null &
pid=$!
# In the foreground (-f) rspamd writes no pid file: the job's pid is rspamd's (setsid execs it).
echo "$pid" > "$dir/rspamd.pid"
# GET /ping with bash alone: HTTP/1.0, the status line is enough.
up() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port && printf 'GET /ping HTTP/1.0\r\n\r\n' >&3 &&
    head -n 1 <&3 | grep -q ' 200 '" 2>/dev/null
}
save_hs_cache() {
  [ -n "$hs_cache" ] || return 0
  local f
  for f in "$dir"/db/*.hsmp; do
    [ -e "$f" ] && [ ! -e "$hs_cache/${f##*/}" ] || continue
    cp "$f" "$hs_cache/.${f##*/}.$$" && mv "$hs_cache/.${f##*/}.$$" "$hs_cache/${f##*/}"
  done
}
for _ in $(seq 300); do
  up && { save_hs_cache; exit 0; }
  alive "$pid" || break
  sleep 0.1
done
echo "rspamd-instance: rspamd did not answer on 127.0.0.1:$port; $dir/rspamd.log:" >&2
tail -n 20 "$dir/rspamd.log" "$dir/rspamd.out" >&2 || true
kill -TERM "$pid" 2>/dev/null || true
exit 1
