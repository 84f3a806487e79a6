// Issue #11, item 9 (/metrics): proves against a real `tributary gateway
// start` child process that GET /metrics, which names every stream and its
// traffic, answers only a scraper with the metrics token the first start
// wrote (0600) to the data directory: no token, a wrong one and a POST are
// refused, and the page is served with the token. With `metrics.open: true`
// in the config, the operator opts in to serving it to anyone.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CreateStreamCommand } from '@aws-sdk/client-kinesis';
import { sdkClient, spawnTestGateway } from '../helpers/attack.ts';
import { tempDir, waitActive } from '../helpers/gateway.ts';

type Spawned = Awaited<ReturnType<typeof spawnTestGateway>>;
const started: Spawned[] = [];
afterAll(async () => {
  for (const gw of started) await gw.kill();
});

async function get(url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; text: string; authenticate: string | null }> {
  const res = await fetch(`${url}/metrics`, { method, headers });
  return { status: res.status, text: await res.text(), authenticate: res.headers.get('www-authenticate') };
}

describe('/metrics needs the metrics token (issue #11, item 9)', () => {
  it('refuses scrapers without the token and serves the ones with it', async () => {
    const gw = await spawnTestGateway();
    started.push(gw);
    const c = sdkClient(gw.url, gw.operator);
    await c.send(new CreateStreamCommand({ StreamName: 'secret-plant-line-4', ShardCount: 1 }));
    await waitActive(c, 'secret-plant-line-4');
    c.destroy();

    const tokenFile = path.join(gw.dataDir, 'metrics.token');
    expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600);
    const token = fs.readFileSync(tokenFile, 'utf8').trim();

    const anonymous = await get(gw.url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.authenticate).toBe('Bearer realm="tributary metrics"');
    expect(anonymous.text).not.toContain('secret-plant-line-4');
    expect((await get(gw.url, { authorization: 'Bearer not-the-token' })).status).toBe(401);
    expect((await get(gw.url, { authorization: `Basic ${Buffer.from(`x:${token}`).toString('base64')}` })).status).toBe(401);
    expect((await get(gw.url, { authorization: `Bearer ${token}` }, 'POST')).status).toBe(405);

    const scraped = await get(gw.url, { authorization: `Bearer ${token}` });
    expect(scraped.status).toBe(200);
    expect(scraped.text).toContain('tributary_streams_open_shards{stream="secret-plant-line-4"} 1');
  });

  it('serves anyone when the operator opts in with metrics.open', async () => {
    const config = path.join(tempDir('trb-conf-'), 'gateway.yaml');
    fs.writeFileSync(config, 'metrics:\n  open: true\n');
    const gw = await spawnTestGateway(['--config', config]);
    started.push(gw);
    const anonymous = await get(gw.url);
    expect(anonymous.status).toBe(200);
    expect(anonymous.text).toContain('# TYPE tributary_requests_total counter');
    expect(fs.existsSync(path.join(gw.dataDir, 'metrics.token'))).toBe(false);
  });
});
