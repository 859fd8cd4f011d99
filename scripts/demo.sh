#!/usr/bin/env bash
# The demo: installs and starts what it needs (Postfix binaries, RabbitMQ, node_modules), builds,
# then runs examples/demo: a private Postfix, the gateway, classifiers and real mail through them.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
npx tsc -b
# The demo's own vhost on the local broker, so it never touches anyone else's queues.
export PATH=/usr/sbin:$PATH
rabbitmqctl -q add_vhost psf-demo 2>/dev/null || true
rabbitmqctl -q set_permissions -p psf-demo guest '.*' '.*' '.*'
exec node examples/demo/dist/main.js
