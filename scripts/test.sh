#!/usr/bin/env bash
# All checks, as CI runs them: services up, type-check (sources, tests, examples, benches),
# lint and format, then every test (unit and end-to-end through real RabbitMQ and Postfix).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/services.sh
echo "test: type-check"
npx tsc -b
npx tsc -p tsconfig.test.json
echo "test: lint"
npx biome ci --error-on-warnings .
echo "test: vitest"
npx vitest run
