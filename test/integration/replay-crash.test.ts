// Proves a replay is resumable and exactly once: the real CLI replays a capture file into a real
// gateway's stream and is killed with SIGKILL at random moments 20 times (each time after it has
// made progress), then the same command is run to the end; every record is in the stream exactly
// once and each partition key's records are in their original order. Also: Ctrl-C (SIGINT) stops
// cleanly with the checkpoint saved, and the resumed run finishes the job.
import fs from 'node:fs';
import path from 'node:path';
import type { KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActiveStream, kinesisClient, tempDir, testGateway } from '../helpers/gateway.ts';
import { byKey, cli, cliBundle, profileFor, readAll, spawnCli } from '../helpers/replay.ts';
import type { Gateway } from '../../gateway/gateway.ts';
import { formatCaptureLine } from '../../sdk/protocol/capture.ts';
import { waitFor } from '../helpers/agent-process.ts';

let gw: Gateway;
let c: KinesisClient;
let profile: string;
let dir: string;

beforeAll(async () => {
  gw = await testGateway({ enforceLimits: false });
  await cliBundle();
  c = kinesisClient(gw.url);
  profile = profileFor(gw.url);
  dir = tempDir('trb-replay-crash-');
});
afterAll(async () => {
  c?.destroy();
  await gw?.close();
});

/** `timeOf(i)` is record i's capture time in ms (1 ms apart unless given). */
function capture(file: string, count: number, keys: number, timeOf = (i: number) => i): Array<{ key: string; data: Buffer }> {
  const records = Array.from({ length: count }, (_, i) => ({ key: `key-${i % keys}`, data: Buffer.from(`${i % keys}:${Math.floor(i / keys)}`) }));
  fs.writeFileSync(file, records.map((r, i) => formatCaptureLine({ data64: r.data.toString('base64'), partitionKey: r.key, timeMs: 1_700_000_000_000 + timeOf(i) })).join('\n') + '\n');
  return records;
}

function sentSoFar(checkpoint: string): number {
  try {
    return (JSON.parse(fs.readFileSync(checkpoint, 'utf8')) as { counters: { sent: number } }).counters.sent;
  } catch {
    return -1; // Not written yet (or being replaced: the rename is atomic, the read can miss it).
  }
}

describe('replay crash and resume', () => {
  it('kill -9 at 20 random points, then the same command: every record once, per-key order kept', async () => {
    const file = path.join(dir, 'cap.jsonl');
    // 50 records every 10 ms: replayed at 1x that is at most 5,000 records/s, so a fast machine cannot
    // finish the capture between the moment a run shows progress and the kill (at full speed one did).
    const records = capture(file, 60_000, 300, (i) => Math.floor(i / 50) * 10);
    await createActiveStream(c, 'crash', 4);
    const checkpoint = path.join(dir, 'crash.checkpoint.json');
    const args = ['replay', file, '--into', 'stream:crash', '--speed', '1x', '--checkpoint', checkpoint, '--lanes', '4', '--progress', 'none', '--profile', profile];
    let kills = 0;
    let finishedEarly = false;
    while (kills < 20) {
      const before = sentSoFar(checkpoint);
      const run = await spawnCli(args);
      // Kill only once this run has moved the checkpoint on, then after a random extra moment.
      let exited: number | string | undefined;
      void run.exited.then((code) => (exited = code));
      await waitFor('the replay to make progress', () => exited !== undefined || sentSoFar(checkpoint) > before, 20_000, run.output);
      if (exited !== undefined) {
        finishedEarly = true;
        break;
      }
      await new Promise((r) => setTimeout(r, Math.random() * 30));
      run.child.kill('SIGKILL');
      expect(await run.exited).toBe('SIGKILL');
      kills++;
    }
    expect(finishedEarly, 'the capture outlasted 20 kills').toBe(false);
    const { stdout } = await cli(args);
    const summary = JSON.parse(stdout.trim()).replay;
    expect(summary).toMatchObject({ finished: true, resumed: true, sent: records.length, rejected: 0 });
    const stored = await readAll(c, 'crash');
    expect(stored.length).toBe(records.length);
    expect(byKey(stored)).toEqual(byKey(records));
  }, 300_000); // Each kill costs one CLI start: about 0.5 s on a quiet machine, much more on a loaded one.

  it('Ctrl-C saves the checkpoint and exits; the same command finishes the job', async () => {
    const file = path.join(dir, 'int.jsonl');
    const records = capture(file, 3000, 20);
    await createActiveStream(c, 'interrupted', 2);
    const checkpoint = path.join(dir, 'int.checkpoint.json');
    // Paced at 1x, 1 ms apart: 3 s in all, so SIGINT arrives mid-run.
    const args = ['replay', file, '--into', 'stream:interrupted', '--speed', '1x', '--checkpoint', checkpoint, '--progress', 'none', '--profile', profile];
    const run = await spawnCli(args);
    await waitFor('progress', () => sentSoFar(checkpoint) > 0, 20_000, run.output);
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(130);
    expect(run.output()).toContain('interrupted: run the same command again to resume');
    const partial = JSON.parse(run.output().split('\n').find((l) => l.startsWith('{"replay"'))!).replay;
    expect(partial.finished).toBe(false);
    expect(partial.sent).toBeLessThan(records.length);
    const { stdout } = await cli(args);
    expect(JSON.parse(stdout.trim()).replay).toMatchObject({ finished: true, sent: records.length });
    expect(byKey(await readAll(c, 'interrupted'))).toEqual(byKey(records));
  });
});
