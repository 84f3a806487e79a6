/**
 * `npm run bench -- video --only packaging`: the CPU time of packaging one
 * HLS segment on a cache miss, in process, away from HTTP and from the
 * machine's other load (CPU time, not wall time): the 60 s 720p fixture is
 * stored through the gateway's own fragment store, the gateway is reopened
 * (so nothing is held in memory), and every fragment is packaged as an fMP4
 * and as an MPEG-TS segment by a SegmentPackager whose cache keeps nothing:
 * each call reads the fragment back from the store (read, CRC, decrypt),
 * parses it and remuxes it.
 */
import { performance } from 'node:perf_hooks';
import { gatewayDefaults, startGateway } from '../../gateway/gateway.ts';
import { silentLogger } from '../../gateway/log.ts';
import { SegmentPackager } from '../../gateway/video/playback/segments.ts';
import type { splitMkv } from '../../test/helpers/video-fragments.ts';
import { storeFragments } from '../../test/helpers/video-fragments.ts';

export interface PackagingCpu {
  segments: number;
  fmp4CpuMsPerSegment: number;
  tsCpuMsPerSegment: number;
  wallMs: number;
}

const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

export async function measurePackagingCpu(dir: string, clip: ReturnType<typeof splitMkv>, rounds: number): Promise<PackagingCpu> {
  const config = { ...gatewayDefaults, dataDir: dir, port: 0, tlsEnabled: false, fsync: { kind: 'never' as const } };
  const prep = await startGateway(config, { log: silentLogger });
  await prep.video.create({ StreamName: 'packaging', DataRetentionInHours: 24 });
  await storeFragments(prep.video.find('packaging')!.fragments, clip, Date.now() - 3_600_000);
  await prep.close();
  const gw = await startGateway(config, { log: silentLogger });
  try {
    const stream = gw.video.find('packaging')!;
    const metas = stream.fragments.list();
    const packager = new SegmentPackager(1); // keeps nothing: every call is a miss
    const t0 = performance.now();
    const time = async (kind: 'fmp4' | 'ts') => {
      await packager.segment(stream, metas[0]!, kind, 'PRODUCER_TIMESTAMP'); // warm-up (JIT)
      const before = cpuMs();
      for (let r = 0; r < rounds; r++) for (const m of metas) await packager.segment(stream, m, kind, 'PRODUCER_TIMESTAMP');
      return (cpuMs() - before) / (rounds * metas.length);
    };
    const fmp4CpuMsPerSegment = await time('fmp4');
    const tsCpuMsPerSegment = await time('ts');
    return { segments: rounds * metas.length, fmp4CpuMsPerSegment, tsCpuMsPerSegment, wallMs: performance.now() - t0 };
  } finally {
    await gw.close();
  }
}
