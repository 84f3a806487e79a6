// Proves the journald input on real journal files (written by Debian's systemd-journal-remote from Journal Export Format, read by the real journalctl with --file/--directory; no journald runs here) and a real disk buffer: unit filters pick entries, records carry the unit, host and realtime timestamp; entries appended while it runs are followed; a restart continues after the checkpointed cursor with no loss and no duplicates; the cursor advances only after the append resolved, and a failed append is read again.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DiskBuffer, type AppendRecord, type BufferedRecord } from '../../agent/buffer/index.ts';
import { contentPartitionKey, type RecordSink } from '../../agent/inputs/common.ts';
import { JournaldInput, journalctlArgs, parseJournaldInputConfig, type JournaldInputEvent } from '../../agent/inputs/journald.ts';
import { TributaryError } from '../../sdk/protocol/errors.ts';
import { waitFor } from '../helpers/wait.ts';

/** Debian 12: package systemd-journal-remote. */
const journalRemote = '/lib/systemd/systemd-journal-remote';
const bootId = '0123456789abcdef0123456789abcdef';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

beforeAll(() => {
  if (!fs.existsSync(journalRemote)) throw new Error(`${journalRemote} is missing: apt-get install systemd-journal-remote`);
  execFileSync('journalctl', ['--version']);
});

interface Setup { root: string; journalDir: string; stateDir: string; buffer: DiskBuffer }

async function setup(): Promise<Setup> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-input-journald-'));
  const journalDir = path.join(root, 'journal');
  fs.mkdirSync(journalDir);
  const buffer = await DiskBuffer.openDestination(path.join(root, 'buffer'), 'logs', { fsync: 'never' });
  cleanups.push(async () => {
    await buffer.close();
    fs.rmSync(root, { recursive: true, force: true });
  });
  return { root, journalDir, stateDir: path.join(root, 'state'), buffer };
}

interface Entry { unit: string; message: string | Buffer; host?: string; boot?: string }

// Entries are dated in the past: systemd-journal-remote refuses to append to a file whose last entry lies in the future
// ("corrupted or uncleanly shut down"), renames it away and starts a new one, which a journalctl --file does not follow.
let clockUs = (Date.now() - 3_600_000) * 1000;
let monotonicUs = 1_000_000;

/** Writes entries (Journal Export Format, binary-safe) into a journal file through systemd-journal-remote; appends when it exists. */
function writeJournal(file: string, entries: Entry[]): number[] {
  const stamps: number[] = [];
  const parts: Buffer[] = [];
  for (const e of entries) {
    clockUs += 1000;
    monotonicUs += 1000;
    stamps.push(clockUs);
    parts.push(Buffer.from(`__REALTIME_TIMESTAMP=${clockUs}\n__MONOTONIC_TIMESTAMP=${monotonicUs}\n_BOOT_ID=${e.boot ?? bootId}\n`
      + `_HOSTNAME=${e.host ?? 'pi-17'}\n_SYSTEMD_UNIT=${e.unit}\nPRIORITY=6\nSYSLOG_IDENTIFIER=${e.unit.split('.')[0]}\n`));
    if (typeof e.message === 'string') parts.push(Buffer.from(`MESSAGE=${e.message}\n`));
    else {
      const size = Buffer.alloc(8);
      size.writeBigUInt64LE(BigInt(e.message.length));
      parts.push(Buffer.from('MESSAGE\n'), size, e.message, Buffer.from('\n'));
    }
    parts.push(Buffer.from('\n'));
  }
  execFileSync(journalRemote, [`--output=${file}`, '-'], { input: Buffer.concat(parts), stdio: ['pipe', 'ignore', 'pipe'] });
  return stamps;
}

const msgs = (unit: string, from: number, n: number): Entry[] => Array.from({ length: n }, (_, i) => ({ unit, message: `${unit} ${from + i}` }));
const texts = (unit: string, from: number, n: number): string[] => msgs(unit, from, n).map((e) => e.message as string);

async function startInput(s: Setup, extra: Record<string, unknown> = {}, sink: RecordSink = s.buffer, events: JournaldInputEvent[] = []) {
  const config = parseJournaldInputConfig({
    destination: 'logs', directory: s.journalDir, stateDir: s.stateDir, restartMinMs: 50, restartMaxMs: 200, ...extra,
  });
  const input = new JournaldInput(config, sink, { onEvent: (e) => events.push(e) });
  await input.start();
  cleanups.push(() => input.stop());
  return input;
}

async function records(b: DiskBuffer): Promise<BufferedRecord[]> {
  return b.peek(100_000, 256 << 20);
}

const message = (r: BufferedRecord): string => (JSON.parse(Buffer.from(r.data).toString()) as { MESSAGE: string }).MESSAGE;
const cursorOf = (r: BufferedRecord): string => (JSON.parse(Buffer.from(r.data).toString()) as { __CURSOR: string }).__CURSOR;

async function waitForCount(b: DiskBuffer, n: number): Promise<BufferedRecord[]> {
  return waitFor(`${n} records`, async () => { const got = await records(b); return got.length >= n && got; });
}

let markers = 0;
const isMarker = (r: BufferedRecord): boolean => { const m: unknown = message(r); return typeof m === 'string' && m.startsWith('marker '); };
const withoutMarkers = (rs: BufferedRecord[]): BufferedRecord[] => rs.filter((r) => !isMarker(r));

/**
 * Writes a marker entry after the entries under test and waits for it in the buffer: the journal is read in order,
 * so whatever the input does with the entries before the marker (a duplicate included) has been done by then.
 * Returns every record, the marker included (`withoutMarkers` drops markers).
 */
async function settle(s: Setup, o: { unit?: string; file?: string; boot?: string } = {}): Promise<BufferedRecord[]> {
  const text = `marker ${++markers}`;
  writeJournal(o.file ?? path.join(s.journalDir, 'system.journal'), [{ unit: o.unit ?? 'a.service', message: text, ...(o.boot ? { boot: o.boot } : {}) }]);
  return waitFor(`the entry "${text}"`, async () => { const rs = await records(s.buffer); return rs.some((r) => message(r) === text) && rs; });
}

function checkpoint(s: Setup): string | undefined {
  const file = path.join(s.stateDir, 'journald-journald.cursor.json');
  return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as { cursor: string }).cursor : undefined;
}

describe('agent journald input', () => {
  it('keeps the filtered unit only, with source, partition key, realtime timestamp and the whole entry as data', async () => {
    const s = await setup();
    const file = path.join(s.journalDir, 'system.journal');
    const stamps = writeJournal(file, [...msgs('a.service', 0, 3), ...msgs('b.service', 0, 3), ...msgs('a.service', 3, 2)]);
    const input = await startInput(s, { units: ['a.service'] });
    const all = await settle(s);
    const got = withoutMarkers(all);
    expect(got.map(message)).toEqual(texts('a.service', 0, 5));
    const r = got[0]!;
    // The default key (issue #15): a hash of the entry, so a backlog spreads over the shards.
    expect([r.source, r.partitionKey, r.capturedAtMs]).toEqual(['journald:a.service', contentPartitionKey(r.data), Math.floor(stamps[0]! / 1000)]);
    expect(new Set(got.map((x) => x.partitionKey)).size).toBe(5);
    const entry = JSON.parse(Buffer.from(r.data).toString()) as Record<string, string>;
    expect(entry).toMatchObject({ _SYSTEMD_UNIT: 'a.service', _HOSTNAME: 'pi-17', PRIORITY: '6', __REALTIME_TIMESTAMP: String(stamps[0]) });
    expect(entry.__CURSOR).toMatch(/^s=/);
    expect(input.counters()).toMatchObject({ received: 6, buffered: 6, failed: 0 }); // The five and the marker.
    await input.stop();
    expect(checkpoint(s)).toBe(cursorOf(all.at(-1)!));
  });

  it('follows entries appended while it runs, in batches, and keys by hostname when asked', async () => {
    const s = await setup();
    const file = path.join(s.journalDir, 'system.journal');
    writeJournal(file, msgs('a.service', 0, 2));
    await startInput(s, { files: [file], directory: undefined, partitionKey: { hostname: true } });
    await waitForCount(s.buffer, 2);
    writeJournal(file, msgs('b.service', 0, 1000));
    const got = await settle(s, { file });
    expect(withoutMarkers(got).map(message)).toEqual([...texts('a.service', 0, 2), ...texts('b.service', 0, 1000)]);
    expect(new Set(got.map((r) => r.partitionKey))).toEqual(new Set(['pi-17']));
  });

  it('continues after the checkpointed cursor on restart: exactly the new entries, from the same file and a new one', async () => {
    const s = await setup();
    const file = path.join(s.journalDir, 'system.journal');
    writeJournal(file, [...msgs('a.service', 0, 5), ...msgs('b.service', 0, 5)]);
    const first = await startInput(s, { units: ['a.service'] });
    await settle(s);
    await first.stop();
    writeJournal(file, [...msgs('b.service', 5, 3), ...msgs('a.service', 5, 3)]);
    writeJournal(path.join(s.journalDir, 'remote-2.journal'), msgs('a.service', 8, 4)); // A second file, newer entries.
    const second = await startInput(s, { units: ['a.service'] });
    const all = await settle(s);
    expect(withoutMarkers(all).map(message)).toEqual(texts('a.service', 0, 12));
    expect(second.counters().received).toBe(8); // Seven and the marker.
    await second.stop();
    // The filter changed between runs: the checkpointed entry is not one of b's, and still the first b after it is kept
    // (journalctl's own --after-cursor would skip it).
    writeJournal(file, msgs('b.service', 8, 3));
    await startInput(s, { units: ['b.service'] });
    expect(withoutMarkers(await settle(s, { unit: 'b.service' })).slice(12).map(message)).toEqual(texts('b.service', 8, 3));
  });

  it('continues across a reboot: what the old boot logged after the checkpoint comes before the new boot', async () => {
    const s = await setup();
    const file = path.join(s.journalDir, 'system.journal');
    writeJournal(file, msgs('a.service', 0, 3));
    const first = await startInput(s);
    await settle(s);
    await first.stop();
    writeJournal(file, msgs('a.service', 3, 2)); // The old boot's last words, unread when the device went down.
    monotonicUs = 1_000_000;
    writeJournal(file, msgs('a.service', 5, 2).map((e) => ({ ...e, boot: 'fedcba9876543210fedcba9876543210' })));
    await startInput(s);
    expect(withoutMarkers(await settle(s, { boot: 'fedcba9876543210fedcba9876543210' })).map(message)).toEqual(texts('a.service', 0, 7));
  });

  it('waits for journal files to appear in an empty directory', async () => {
    const s = await setup();
    const events: JournaldInputEvent[] = [];
    await startInput(s, {}, s.buffer, events);
    await waitFor('journalctl running on the empty directory', () => events.some((e) => e.kind === 'started'));
    writeJournal(path.join(s.journalDir, 'system.journal'), msgs('a.service', 0, 2));
    expect(withoutMarkers(await settle(s)).map(message)).toEqual(texts('a.service', 0, 2));
  });

  it('startAt end skips the entries already in the journal, even across a restart before anything new came', async () => {
    const s = await setup();
    const file = path.join(s.journalDir, 'system.journal');
    writeJournal(file, msgs('a.service', 0, 5));
    const events: JournaldInputEvent[] = [];
    const first = await startInput(s, { startAt: 'end' }, s.buffer, events);
    // The last entry's cursor is the checkpoint before anything is read, and journalctl starts there.
    const tail = checkpoint(s);
    expect(tail).toMatch(/^s=/);
    await waitFor('journalctl started', () => events.find((e) => e.kind === 'started'));
    expect(events.find((e) => e.kind === 'started')).toMatchObject({ cursor: tail });
    await first.stop();
    writeJournal(file, msgs('a.service', 5, 3)); // Written while stopped: kept.
    await startInput(s, { startAt: 'end' });
    writeJournal(file, msgs('a.service', 8, 2));
    // Entries 0-4, had either run read them, would be in the buffer before the marker.
    expect(withoutMarkers(await settle(s)).map(message)).toEqual(texts('a.service', 5, 5));
  });

  it('advances the cursor only after the append resolved, and reads a failed append again', async () => {
    const s = await setup();
    const file = path.join(s.journalDir, 'system.journal');
    writeJournal(file, msgs('a.service', 0, 20));
    let release: () => void = () => {};
    const held = new Promise<void>((r) => { release = r; });
    let failures = 2;
    let appending = false;
    const sink: RecordSink = {
      async append(rs: AppendRecord[]) {
        appending = true;
        await held;
        if (failures-- > 0) throw new TributaryError('BUFFER_FULL', 'full (test)');
        return s.buffer.append(rs);
      },
    };
    const events: JournaldInputEvent[] = [];
    const input = await startInput(s, {}, sink, events);
    await waitFor('the first append', () => appending);
    expect(checkpoint(s)).toBeUndefined(); // Read, but not durable yet.
    release();
    const all = await settle(s);
    expect(withoutMarkers(all).map(message)).toEqual(texts('a.service', 0, 20));
    expect(input.counters()).toMatchObject({ failed: 2, buffered: 21 }); // The twenty and the marker.
    expect(input.counters().restarts).toBeGreaterThanOrEqual(2);
    expect(events.filter((e) => e.kind === 'append-failed')).toEqual([
      { kind: 'append-failed', code: 'BUFFER_FULL' }, { kind: 'append-failed', code: 'BUFFER_FULL' },
    ]);
    // The checkpoint file is written after the append resolved.
    await waitFor('the checkpoint at the last record', () => checkpoint(s) === cursorOf(all.at(-1)!));
    expect(input.committedCursor()).toBe(checkpoint(s));
  });

  it('decodes binary fields for routing and keeps them as journalctl byte arrays in the data', async () => {
    const s = await setup();
    writeJournal(path.join(s.journalDir, 'system.journal'), [{ unit: 'c.service', message: Buffer.from([0x62, 0x69, 0x6e, 0x00, 0xff]) }]);
    await startInput(s, { partitionKey: { fixed: 'fleet' } });
    const got = withoutMarkers(await settle(s));
    expect(got).toHaveLength(1);
    const [r] = got;
    expect((JSON.parse(Buffer.from(r!.data).toString()) as { MESSAGE: unknown }).MESSAGE).toEqual([0x62, 0x69, 0x6e, 0x00, 0xff]);
    expect([r!.source, r!.partitionKey]).toEqual(['journald:c.service', 'fleet']);
  });

  it('reports journalctl exiting and restarts it with backoff', async () => {
    const s = await setup();
    const events: JournaldInputEvent[] = [];
    const input = await startInput(s, { files: ['/nonexistent/x.journal'], directory: undefined }, s.buffer, events);
    await waitFor('two restarts', () => input.counters().restarts >= 2);
    const exited = events.find((e) => e.kind === 'exited');
    expect(exited).toMatchObject({ kind: 'exited', code: 1 });
    expect(events.some((e) => e.kind === 'stderr')).toBe(true);
  });

  it('fails start when journalctl cannot run', async () => {
    const s = await setup();
    const config = parseJournaldInputConfig({ destination: 'logs', stateDir: s.stateDir, journalctl: '/nonexistent/journalctl' });
    await expect(new JournaldInput(config, s.buffer).start()).rejects.toMatchObject({ code: 'INPUT_CONFIG_INVALID' });
  });

  it('refuses bad config with the field named', () => {
    const base = { destination: 'logs', stateDir: '/var/lib/x' };
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ nope: 1 }, /inputs\.journald: unknown key nope/],
      [{ units: ['a service'] }, /inputs\.journald\.units\[0\]: must be a unit name/],
      [{ matches: ['lower=x'] }, /inputs\.journald\.matches\[0\]/],
      [{ directory: 'rel/dir' }, /inputs\.journald\.directory: must be an absolute path/],
      [{ directory: '/a', files: ['/b'] }, /directory or files, not both/],
      [{ files: ['x.journal'] }, /inputs\.journald\.files\[0\]: must be an absolute path/],
      [{ partitionKey: { unit: true, fixed: 'x' } }, /exactly one of unit, hostname, fixed, hash/],
      [{ order: 'per-boot' }, /inputs\.journald\.order: must be per-unit or none/],
      [{ order: 'per-unit', partitionKey: { hash: true } }, /which order: per-unit forbids/],
      [{ startAt: 'middle' }, /inputs\.journald\.startAt: must be beginning or end/],
      [{ destination: 'a/b' }, /inputs\.journald\.destination: must match/],
    ];
    for (const [extra, message] of bad) expect(() => parseJournaldInputConfig({ ...base, ...extra })).toThrow(message);
  });

  it('builds journalctl arguments: source, cursor (inclusive, skipped by us), units, matches', () => {
    const c = parseJournaldInputConfig({ destination: 'logs', stateDir: '/s', files: ['/j/a.journal'], units: ['a.service'], matches: ['PRIORITY=3'] });
    expect(journalctlArgs(c, 's=1;i=2')).toEqual([
      '--output=json', '--all', '--follow', '--merge', '--no-pager', '--file=/j/a.journal', '--cursor=s=1;i=2', '--unit=a.service', '--', 'PRIORITY=3',
    ]);
    expect(journalctlArgs(parseJournaldInputConfig({ destination: 'logs', stateDir: '/s' }), undefined)).toEqual([
      '--output=json', '--all', '--follow', '--merge', '--no-pager', '--no-tail',
    ]);
  });
});
