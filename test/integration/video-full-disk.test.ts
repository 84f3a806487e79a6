// A full disk under PutMedia: on a real 32 MiB ext4 (loop-mounted; skipped
// with the reason where this machine cannot mount) holding the gateway's data
// directory, fragments that no longer fit are refused with ARCHIVAL_ERROR
// (5001) and never acknowledged PERSISTED, the ones before stay readable, the
// stream takes fragments again as soon as space is freed (no restart), and
// after a restart every acknowledged fragment reads back byte for byte.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis-video';
import { clusterElement, concat, ebmlHeader, infoElement, MkvReader, segmentStart, simpleBlock, tracksElement } from '../../sdk/protocol/mkv/index.ts';
import type { Ack } from '../../sdk/protocol/video/acks.ts';
import { testGateway } from '../helpers/gateway.ts';
import { mountSmallFs } from '../helpers/small-fs.ts';
import { rawPutMedia, videoClient } from '../helpers/video.ts';

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

const header = concat([ebmlHeader(), segmentStart(), infoElement({ timecodeScale: 1_000_000 }), tracksElement([{ number: 1, codecId: 'V_MPEG4/ISO/AVC', defaultDuration: 40_000_000 }])]);
const base = Date.now() - 600_000;
/** Fragment i: 2 s, 50 frames, about 1 MB (incompressible: the ext4 stores every byte). */
const fragment = (i: number) => clusterElement(base + i * 2000, Array.from({ length: 50 }, (_, k) => simpleBlock({ track: 1, timecode: k * 40, keyframe: k === 0, data: Uint8Array.from({ length: 20_000 }, (_, b) => (b * 31 + k * 7 + i * 13) & 0xff) })));

const byType = (acks: Ack[], t: Ack['EventType']) => acks.filter((a) => a.EventType === t);
/** Fragment i as the store keeps it: the Cluster as the MKV reader hands it over (its size written in 8 bytes). */
const stored = (i: number) => Buffer.from((new MkvReader().push(concat([header, fragment(i)])).find((e) => e.type === 'cluster') as { raw: Uint8Array }).raw);

it('refuses what does not fit with ARCHIVAL_ERROR, keeps what was acknowledged, and takes fragments again once space is freed', async (ctx) => {
  const small = mountSmallFs(32);
  if (typeof small === 'string') return ctx.skip(small);
  cleanups.push(() => small.unmount());
  const dataDir = path.join(small.dir, 'data');
  let gw = await testGateway({ dataDir });
  cleanups.push(() => gw.close());
  const kv = videoClient(gw.url);
  await kv.send(new CreateStreamCommand({ StreamName: 'full', DataRetentionInHours: 24 }));
  kv.destroy();
  const put = async (indexes: number[]) => {
    const p = rawPutMedia(gw.url, { stream: 'full' });
    p.req.on('error', () => undefined);
    p.req.end(concat([header, ...indexes.map(fragment)]));
    await p.done;
    return p.acks;
  };

  const first = await put([0, 1]);
  expect(byType(first, 'PERSISTED').length).toBe(2);

  small.fillUp();
  const refused = await put([2]);
  expect(byType(refused, 'ERROR')).toEqual([{ EventType: 'ERROR', FragmentTimecode: base + 4000, ErrorId: 5001, ErrorCode: 'ARCHIVAL_ERROR' }]);
  expect(byType(refused, 'PERSISTED')).toEqual([]);
  const log = () => gw.video.find('full')!.fragments;
  expect(log().list().length).toBe(2);
  expect(Buffer.from((await log().read(log().list()[1]!.FragmentNumber))!.cluster).equals(stored(1))).toBe(true);

  // Space comes back (the other program's file goes): the same stream takes the fragment, no restart needed.
  fs.rmSync(path.join(small.dir, 'filler'));
  const again = await put([2]);
  expect(byType(again, 'ERROR')).toEqual([]);
  expect(byType(again, 'PERSISTED').length).toBe(1);

  // After a restart everything acknowledged is there, whole, and nothing else.
  await gw.close();
  gw = await testGateway({ dataDir });
  const listed = log().list();
  expect(listed.map((m) => m.ProducerTimestamp)).toEqual([0, 1, 2].map((i) => base + i * 2000));
  expect(listed.map((m) => m.FragmentNumber)).toEqual([...byType(first, 'PERSISTED'), ...byType(again, 'PERSISTED')].map((a) => a.FragmentNumber));
  for (const [i, m] of listed.entries()) expect(Buffer.from((await log().read(m.FragmentNumber))!.cluster).equals(stored(i))).toBe(true);
}, 120_000);
