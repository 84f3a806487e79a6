#!/usr/bin/env bash
# Soak version of test/integration/agent-crash.test.ts: kill -9 the agent at
# random moments many more times than CI does (default 500).
#   scripts/agent-crash-soak.sh [iterations]
set -euo pipefail
cd "$(dirname "$0")/.."
AGENT_CRASH_ITERATIONS="${1:-500}" npx vitest run test/integration/agent-crash.test.ts --testTimeout=0
