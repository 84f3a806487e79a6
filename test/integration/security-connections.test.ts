// Issue #11, item 6: proves that idle and slow connections cannot lock real
// clients out. A real gateway child process runs under a 1,024-descriptor
// limit (prlimit) while 1,100 connections from 20 loopback addresses connect
// and never finish a TLS handshake or never send a byte: a stock SDK client
// still gets through within the handshake and first-byte deadlines, and the
// gateway logs the shedding once rather than per connection. One address is
// held to its connection cap at once, and an HTTP/2 client that cancels
// streams as fast as it opens them (rapid reset, CVE-2023-44487) gets GOAWAY
// ENHANCE_YOUR_CALM.
import fs from 'node:fs';
import http2 from 'node:http2';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand, KinesisClient, ListStreamsCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { closedBy, sdkClient, spawnTestGateway } from '../helpers/attack.ts';
import { connectionsPerAddressMaxDefault, firstBytesMsMax, handshakeMsMax, resetsBurstMax } from '../../gateway/http/connections.ts';

type Spawned = Awaited<ReturnType<typeof spawnTestGateway>>;
const started: Spawned[] = [];
afterAll(async () => {
  for (const gw of started) await gw.kill();
});

function connectFrom(url: string, localAddress: string): Promise<net.Socket | undefined> {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port), localAddress }, () => resolve(s));
    s.on('error', () => resolve(undefined));
  });
}

/** The start of a TLS ClientHello record that never completes. */
const partialHello = Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);

describe('idle and slow connections (issue #11, item 6)', () => {
  it('lets a real client in while 1,100 stalled connections press on a 1,024-descriptor limit', async () => {
    const gw = await spawnTestGateway([], { tls: true, prlimitNofile: 1024 });
    started.push(gw);
    const ca = fs.readFileSync(path.join(gw.dataDir, 'tls', 'ca.crt'), 'utf8');
    const client = () => new KinesisClient({
      endpoint: gw.url, region: 'us-east-1', credentials: { ...gw.operator }, maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ httpsAgent: new https.Agent({ ca, keepAlive: false }), connectionTimeout: 2000, requestTimeout: 3000 }),
    });
    await client().send(new CreateStreamCommand({ StreamName: 'alive', ShardCount: 1 }));

    const attack: net.Socket[] = [];
    for (let a = 1; a <= 20; a++) {
      const batch = await Promise.all(Array.from({ length: 55 }, () => connectFrom(gw.url, `127.0.1.${a}`)));
      batch.forEach((s, i) => {
        if (!s) return;
        if (i % 2) s.write(partialHello); // a handshake that never finishes
        attack.push(s); // the others never send a byte
      });
    }
    const closed = attack.map((s) => closedBy(s));
    const t0 = Date.now();
    let firstOk: number | undefined;
    while (firstOk === undefined && Date.now() - t0 < 40_000) {
      try {
        await client().send(new ListStreamsCommand({}));
        firstOk = Date.now() - t0;
      } catch {
        await new Promise((r) => setTimeout(r, 500));
      }
    }
    console.log(`${attack.length} stalled connections; a real client got through after ${firstOk} ms`);
    expect(firstOk).toBeLessThan(Math.max(firstBytesMsMax, handshakeMsMax) + 10_000);
    // Every stalled connection is closed by the gateway, and the shedding is logged once, not per connection.
    await Promise.all(closed);
    expect(gw.logs.filter((l) => l.includes('"shedding connections"'))).toHaveLength(1);
    for (const s of attack) s.destroy();
  });

  it('holds one address to its connection cap and answers rapid reset with GOAWAY', async () => {
    const gw = await spawnTestGateway();
    started.push(gw);
    const extra = 20;
    const sockets = (await Promise.all(Array.from({ length: connectionsPerAddressMaxDefault + extra }, () => connectFrom(gw.url, '127.0.2.1')))).filter((s) => s !== undefined);
    let refused = 0;
    for (const s of sockets) s.once('close', () => refused++);
    // The gateway closes the ones past the cap at once (well before the first-byte deadline).
    const t0 = Date.now();
    while (refused < extra && Date.now() - t0 < firstBytesMsMax / 2) await new Promise((r) => setTimeout(r, 50));
    expect(refused).toBe(extra);
    // Another address is not affected.
    const c = sdkClient(gw.url, gw.operator);
    expect((await c.send(new ListStreamsCommand({}))).StreamNames).toEqual([]);
    for (const s of sockets) s.destroy();

    const session = http2.connect(gw.url);
    session.on('error', () => {});
    await new Promise((r) => session.once('connect', r));
    let goaway: number | undefined;
    session.once('goaway', (code) => (goaway = code));
    let opened = 0;
    while (goaway === undefined && !session.destroyed && opened < 5000) {
      const s = session.request({ ':method': 'POST', ':path': '/', 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'Kinesis_20131202.ListStreams' }, { endStream: false });
      s.on('error', () => {});
      s.close(http2.constants.NGHTTP2_CANCEL);
      if (++opened % 50 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    await new Promise((r) => setTimeout(r, 200));
    // The GOAWAY reached the client before its 5,000th stream (25 times the burst: how many more it sent
    // meanwhile depends on how busy the machine is, not on the gateway).
    expect(goaway).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(opened).toBeLessThan(resetsBurstMax * 25);
    session.destroy();
    expect((await c.send(new ListStreamsCommand({}))).StreamNames).toEqual([]);
    c.destroy();
  });
});
