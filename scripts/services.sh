#!/usr/bin/env bash
# Makes this (Debian, root) machine ready for the tests and the demo: Postfix binaries (the system
# instance stays unconfigured and stopped: tests run private ones), slapd and ldap-utils (likewise:
# tests run private slapds), RabbitMQ on 127.0.0.1:5672, node_modules. Idempotent: only does what
# is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
step() { echo "services: $*"; }
die() { echo "services: ERROR: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (apt-get, rabbitmq-server, private Postfix instances)"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
# bogofilter, spamassassin, rspamd and clamav-daemon: the classifier comparison and bridges (private
# daemons); amavisd-new: the peers benchmark (a private amavisd); chromium: the self-service page's
# browser test.
for p in postfix rabbitmq-server slapd ldap-utils bogofilter spamassassin rspamd clamav-daemon amavisd-new chromium; do installed "$p" || missing+=("$p"); done
# systemd-analyze checks the example units (nothing is started with it).
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  # "No configuration": leave /etc/postfix alone; policy-rc.d keeps the packaged daemons stopped.
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  # Likewise slapd: no /etc/ldap/slapd.d, no database (scripts/slapd-instance.sh brings its own).
  echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null ||
    die "apt-get install ${missing[*]} failed"
else
  step "system packages already installed"
fi

amqp_up() { timeout 2 bash -c ': > /dev/tcp/127.0.0.1/5672' 2>/dev/null; }
if amqp_up; then
  step "rabbitmq already listening on 127.0.0.1:5672"
else
  step "starting rabbitmq-server"
  rabbitmq-server -detached || die "rabbitmq-server -detached failed (see /var/log/rabbitmq/)"
  for _ in $(seq 120); do amqp_up && break; sleep 0.5; done
  amqp_up || die "rabbitmq did not listen on 127.0.0.1:5672 within 60 s (see /var/log/rabbitmq/)"
  step "rabbitmq listening on 127.0.0.1:5672"
fi
# The test kit creates vhosts with rabbitmqctl: make sure it can talk to the node.
timeout 60 rabbitmqctl -q await_startup >/dev/null 2>&1 || die "rabbitmqctl cannot reach the rabbitmq node"

# npm writes node_modules/.package-lock.json on every install: it dates node_modules.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  step "npm ci"
  npm ci --no-audit --no-fund >/dev/null || die "npm ci failed"
else
  step "node_modules up to date"
fi
