import os from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Builds the shipped bundles once per run; CLI and process tests start those (test/helpers/bundles.ts).
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Most test time is spent waiting on the processes a test starts (gateways, agents, ffmpeg, Chromium), so
    // two files at a time on a 2-core machine (vitest's default would be one): the suite's wall time is what CI
    // must keep under 30 minutes, and the tests wait on conditions, so a busier machine makes them slower, not wrong.
    maxWorkers: Math.max(2, os.availableParallelism()),
    minWorkers: 1,
    reporters: ['default'],
    // The AWS SDK warns that releases after January 2027 need Node 22; we pin a release that runs on 20.
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
