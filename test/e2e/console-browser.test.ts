/**
 * The web console in Debian's Chromium (playwright-core, no downloaded
 * browser) against the shipped gateway bundle, its resources made with the
 * stock AWS SDK clients: sign in with the operator's keys (exchanged for
 * session credentials), see a stream and its shards, start the live tail, put
 * a JSON record and see it arrive pretty-printed; a delivery stream's
 * configuration and a test record; a video stream playing live through hls.js
 * while the SDK's VideoProducer sends it; an analytics application's SQL
 * with an error shown at its line and column, then fixed, started, its output
 * rows tailed, stopped; revoke an operator; sign out. No console errors or
 * failed requests; every control has an accessible name; a screenshot of each
 * view is kept under tmp/test-artifacts/ (git-ignored).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CreateApplicationCommand, KinesisAnalyticsClient } from '@aws-sdk/client-kinesis-analytics';
import { CreateStreamCommand as CreateVideoStreamCommand } from '@aws-sdk/client-kinesis-video';
import { ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { CreateStreamCommand, KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { VideoProducer } from '../../sdk/video/producer.ts';
import { agentBundlePath, repoRoot } from '../helpers/bundles.ts';
import { freePort, startAgent } from '../helpers/agent-process.ts';
import { ffmpegAvailable, testClip } from '../helpers/ffmpeg-mkv.ts';
import { createActiveDeliveryStream, firehoseClient } from '../helpers/firehose.ts';
import { tempDir, waitActive } from '../helpers/gateway.ts';
import { chromiumAvailable, launchChromium } from '../helpers/hls-browser.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';
import { archivedMediaClient, videoClient } from '../helpers/video.ts';
import { pacedCamera, probe, splitMkv } from '../helpers/video-fragments.ts';

const artifacts = path.join(repoRoot, 'tmp', 'test-artifacts');
const role = 'arn:aws:iam::000000000000:role/console';
const appCode = [
  'CREATE OR REPLACE STREAM "DESTINATION_SQL_STREAM" ("device" VARCHAR(16), "temperature" DOUBLE);',
  'CREATE OR REPLACE PUMP "STREAM_PUMP" AS INSERT INTO "DESTINATION_SQL_STREAM"',
  '  SELECT STREAM "device", "temperature" FROM "SOURCE_SQL_STREAM_001" WHERE "temperature" > 30;',
].join('\n');

/** Every button, field and link has an accessible name, by its label and through Chromium's accessibility tree. */
async function expectNamedControls(page: Page): Promise<void> {
  const unnamed = await page.evaluate(() => {
    const out: string[] = [];
    const document = (globalThis as any).document;
    for (const e of document.querySelectorAll('button, input, textarea, select, a[href]') as any[]) {
      const id = e.getAttribute('id');
      const label = (id && document.querySelector(`label[for="${id}"]`)?.textContent?.trim()) || e.getAttribute('aria-label') || e.textContent?.trim();
      if (!label) out.push(e.outerHTML.slice(0, 120));
    }
    return out;
  });
  expect(unnamed).toEqual([]);
  expect(await page.locator('body').ariaSnapshot()).not.toMatch(/- (button|textbox|combobox)\s*$/m);
}

/** When the console set a performance mark, in ms after the page's navigation start (waits for it). */
async function markMs(page: Page, name: string): Promise<number> {
  const at = await page.waitForFunction((n) => (globalThis as any).performance.getEntriesByName(n)[0]?.startTime as number | undefined, name, { timeout: 15_000, polling: 20 });
  return (await at.jsonValue())!;
}

const screenshot = async (page: Page, name: string) => {
  fs.mkdirSync(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `console-${name}.png`), fullPage: true });
};

describe.skipIf(!chromiumAvailable() || !ffmpegAvailable())('web console in Chromium', () => {
  let gw: SpawnedGateway;
  let operator: { accessKeyId: string; secretAccessKey: string; region: string };
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let page: Page;
  const problems: string[] = [];
  let signInMs = NaN;
  /** HTTP 400 answers the test provokes on purpose, still to come (each also logs a console error in Chromium). */
  let expected400 = { response: 0, console: 0 };

  beforeAll(async () => {
    const dataDir = tempDir('trb-console-');
    gw = await spawnGateway(['--data', dataDir, '--insecure-http']);
    operator = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8'));
    const credentials = { accessKeyId: operator.accessKeyId, secretAccessKey: operator.secretAccessKey };
    const k = new KinesisClient({ endpoint: gw.url, region: operator.region, credentials });
    for (const [StreamName, ShardCount] of [['console-demo', 2], ['console-hot', 1], ['console-scale', 1]] as const) {
      await k.send(new CreateStreamCommand({ StreamName, ShardCount }));
      await waitActive(k, StreamName);
    }
    k.destroy();
    const fh = firehoseClient(gw.url, credentials);
    await createActiveDeliveryStream(fh, {
      DeliveryStreamName: 'console-archive',
      ExtendedS3DestinationConfiguration: {
        BucketARN: 'arn:aws:s3:::console-bucket', RoleARN: role, Prefix: 'readings/', ErrorOutputPrefix: 'failed/',
        BufferingHints: { SizeInMBs: 1, IntervalInSeconds: 1 }, CompressionFormat: 'GZIP',
      },
    });
    fh.destroy();
    const kv = videoClient(gw.url, credentials);
    await kv.send(new CreateVideoStreamCommand({ StreamName: 'console-camera', DataRetentionInHours: 1 }));
    kv.destroy();
    const kda = new KinesisAnalyticsClient({ endpoint: gw.url, region: operator.region, credentials });
    const arn = (name: string) => `arn:aws:kinesis:${operator.region}:000000000000:stream/${name}`;
    await kda.send(new CreateApplicationCommand({
      ApplicationName: 'console-app', ApplicationCode: appCode,
      Inputs: [{
        NamePrefix: 'SOURCE_SQL_STREAM', KinesisStreamsInput: { ResourceARN: arn('console-demo'), RoleARN: role },
        InputSchema: {
          RecordFormat: { RecordFormatType: 'JSON', MappingParameters: { JSONMappingParameters: { RecordRowPath: '$' } } },
          RecordColumns: [{ Name: 'device', Mapping: '$.device', SqlType: 'VARCHAR(16)' }, { Name: 'temperature', Mapping: '$.temperature', SqlType: 'DOUBLE' }],
        },
      }],
      Outputs: [{ Name: 'DESTINATION_SQL_STREAM', KinesisStreamsOutput: { ResourceARN: arn('console-hot'), RoleARN: role }, DestinationSchema: { RecordFormatType: 'JSON' } }],
    }));
    kda.destroy();
    // The second gateway (pairing) serves HTTPS with its own test CA, which the page trusts as a device that pinned it would.
    browser = await launchChromium({ ignoreHttpsErrors: true });
    page = await browser.context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /status of 400/.test(m.text()) && expected400.console > 0) expected400.console--;
      else if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      // The 400 the Analytics test provokes on purpose (code that does not compile) is expected.
      if (r.status() === 400 && expected400.response > 0) expected400.response--;
      else if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    gw?.child.kill('SIGTERM');
    await gw?.exited;
  });

  it('signs in, shows the stream and its shards, tails a record put from the page', async () => {
    await page.goto(`${gw.url}/console/`);
    signInMs = await markMs(page, 'tributary:sign-in');
    expect(signInMs).toBeLessThan(1000);
    // Sign in with the keyboard only: Tab from the page's start through the fields, Enter submits.
    await page.keyboard.press('Tab');
    await page.keyboard.type(operator.accessKeyId);
    await page.keyboard.press('Tab');
    await page.keyboard.type(operator.secretAccessKey);
    await page.keyboard.press('Tab');
    await page.keyboard.press('ControlOrMeta+a');
    await page.keyboard.type(operator.region);
    await page.keyboard.press('Enter');

    // Session credentials only: the long-term secret is not kept anywhere in the page's storage.
    await page.getByRole('button', { name: 'console-demo' }).click();
    const stored = await page.evaluate(() => { const w = globalThis as any; return JSON.stringify({ ...w.sessionStorage }) + JSON.stringify({ ...w.localStorage }); });
    expect(stored).toMatch(/ASIA[A-Z2-7]{16}/);
    expect(stored).not.toContain(operator.secretAccessKey);
    expect(stored).not.toContain(operator.accessKeyId);

    const shards = page.getByRole('table', { name: 'Shards' });
    await expect.poll(() => shards.getByRole('row').count(), { timeout: 15_000 }).toBe(3);
    const firstRow = await shards.getByRole('row').nth(1).innerText();
    expect(firstRow).toContain('shardId-000000000000');
    expect(firstRow).toMatch(/\b0 – 170141183460469231731687303715884105727\b/);

    await page.getByRole('button', { name: 'Start tail' }).click();
    await page.getByText('Tailing new records').waitFor({ timeout: 15_000 });
    const marker = `m-${Date.now()}`;
    await page.getByLabel('Data', { exact: true }).fill(JSON.stringify({ marker, reading: { temp: 21.5 } }));
    await page.getByRole('button', { name: 'Put record' }).click();
    await page.getByRole('status').filter({ hasText: 'Stored in shardId-' }).waitFor({ timeout: 15_000 });
    const entry = page.locator('ol.tail pre', { hasText: marker });
    await entry.waitFor({ timeout: 20_000 });
    // Pretty-printed: one key per line, indented.
    expect(await entry.innerText()).toBe(JSON.stringify({ marker, reading: { temp: 21.5 } }, null, 2));

    await page.getByRole('button', { name: 'Stop tail' }).click();

    // The last hour's metrics (GetMetricHistory): the one record put and read, its bytes.
    const metrics = page.getByRole('region', { name: 'Metrics, last hour' });
    const data = JSON.stringify({ marker, reading: { temp: 21.5 } });
    await expect.poll(async () => {
      await metrics.getByRole('button', { name: 'Refresh metrics' }).click();
      return metrics.innerText();
    }, { timeout: 15_000 }).toContain('GetRecords.Records: 1 in the last hour');
    const figures = await metrics.innerText();
    expect(figures).toContain('IncomingRecords: 1 in the last hour');
    expect(figures).toContain(`IncomingBytes: ${Buffer.byteLength(data)} B in the last hour`);
    expect(figures).toContain('WriteProvisionedThroughputExceeded: 0 in the last hour');
    expect(figures).toMatch(/GetRecords.IteratorAgeMilliseconds: peak \d+ ms in the last hour/);
    expect(await metrics.getByRole('img', { name: /^IncomingRecords: 1 in the last hour/ }).locator('rect').count()).toBe(1);
    await expectNamedControls(page);
    await screenshot(page, 'streams');
  }, 60_000);

  it('shows the first view within a second, and moves between views and streams by keyboard alone', async () => {
    // A signed-in tab loaded again: the page, its script, the session from sessionStorage, ListStreams, the list drawn.
    await page.reload();
    const firstViewMs = await markMs(page, 'tributary:first-view');
    console.log(`console first view: sign-in form ${signInMs.toFixed(0)} ms, streams list (signed in, after ListStreams) ${firstViewMs.toFixed(0)} ms after navigation start`);
    expect(firstViewMs).toBeLessThan(1000);

    // The views are tabs: one Tab stop (the selected one), arrows, Home and End move and show the view.
    const focused = () => page.evaluate(() => { const e = (globalThis as any).document.activeElement; return `${e.getAttribute('role') ?? e.tagName.toLowerCase()}:${e.textContent}`; });
    const selected = () => page.getByRole('tab', { selected: true }).innerText();
    await page.locator('body').focus();
    await page.keyboard.press('Tab');
    expect(await focused()).toBe('tab:Streams');
    await page.keyboard.press('ArrowRight');
    expect([await focused(), await selected()]).toEqual(['tab:Delivery streams', 'Delivery streams']);
    await page.getByRole('navigation', { name: 'Delivery streams' }).waitFor();
    await page.keyboard.press('End');
    expect([await focused(), await selected()]).toEqual(['tab:Devices', 'Devices']);
    await page.keyboard.press('ArrowRight');
    expect([await focused(), await selected()]).toEqual(['tab:Streams', 'Streams']);
    await page.keyboard.press('ArrowLeft');
    expect(await selected()).toBe('Devices');
    await page.keyboard.press('Home');
    expect([await focused(), await selected()]).toEqual(['tab:Streams', 'Streams']);
    // Past the tabs (one stop) and Sign out, Refresh streams, then the streams: arrows between them, Enter opens one.
    await page.getByRole('button', { name: 'console-demo' }).waitFor();
    for (const want of ['button:Sign out', 'button:Refresh streams', 'button:console-demo']) {
      await page.keyboard.press('Tab');
      expect(await focused()).toBe(want);
    }
    await page.keyboard.press('ArrowDown');
    expect(await focused()).toBe('button:console-hot');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    expect(await focused()).toBe('button:console-hot');
    await page.keyboard.press('Enter');
    await page.getByRole('article', { name: 'Stream console-hot' }).waitFor({ timeout: 15_000 });
    await expectNamedControls(page);
  }, 60_000);

  it('reshards a stream from the view (UpdateShardCount) and shows the new lineage', async () => {
    await page.getByRole('button', { name: 'console-scale' }).click();
    await page.getByLabel('Target shard count').fill('2');
    await page.getByRole('button', { name: 'Reshard', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Resharded to 2 open shards' }).waitFor({ timeout: 30_000 });
    const rows = page.getByRole('table', { name: 'Shards' }).getByRole('row');
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(4);
    const text = await page.getByRole('table', { name: 'Shards' }).innerText();
    expect(text).toMatch(/shardId-000000000000\s+closed/);
    expect(text.match(/open\s[^\n]*shardId-000000000000/g)?.length).toBe(2);
  }, 60_000);

  it('shows a delivery stream: destination, buffering, error prefix; puts a record', async () => {
    await page.getByRole('tab', { name: 'Delivery streams', exact: true }).click();
    await page.getByRole('button', { name: 'console-archive' }).click();
    const dest = page.getByRole('region', { name: 'Destination destinationId-000000000001' });
    await dest.waitFor({ timeout: 15_000 });
    const text = await dest.innerText();
    expect(text).toContain('ExtendedS3');
    expect(text).toContain('arn:aws:s3:::console-bucket');
    expect(text).toMatch(/Prefix\s+readings\//);
    expect(text).toMatch(/Error output prefix\s+failed\//);
    expect(text).toContain('1 MiB or 1 s');
    expect(text).toContain('GZIP');
    await page.getByLabel('Record data').fill('{"reading": 1}\n');
    await page.getByRole('button', { name: 'Put delivery record' }).click();
    await page.getByRole('status').filter({ hasText: 'Accepted as' }).waitFor({ timeout: 15_000 });
    // Delivered within the 1 s buffering interval: one object, one record, a data freshness, nothing to the error output.
    const metrics = page.getByRole('region', { name: 'Metrics, last hour' });
    await expect.poll(async () => {
      await metrics.getByRole('button', { name: 'Refresh metrics' }).click();
      return metrics.innerText();
    }, { timeout: 20_000 }).toContain('DeliveryToS3.Success: 1 in the last hour');
    const figures = await metrics.innerText();
    expect(figures).toContain('DeliveryToS3.Records: 1 in the last hour');
    expect(figures).toMatch(/DeliveryToS3.DataFreshness: peak \d+(\.\d+)? s in the last hour/);
    expect(figures).toContain('DeliveryToErrorOutput.Records: 0 in the last hour');
    await expectNamedControls(page);
    await screenshot(page, 'delivery');
  }, 60_000);

  it('plays a video stream live through the gateway\'s HLS endpoint while the SDK sends it', async () => {
    // The camera: the SDK's VideoProducer sends a 640x360 clip over PutMedia at its own pace, one 2 s fragment at a time.
    const clip = splitMkv(testClip({ width: 640, height: 360, seconds: 20 }));
    const producerStartMs = Date.now() - 6000;
    const producer = new VideoProducer({ endpoint: gw.url, region: operator.region, credentials: { accessKeyId: operator.accessKeyId, secretAccessKey: operator.secretAccessKey }, streamName: 'console-camera', producerStartMs, timecodeType: 'RELATIVE' });
    const camera = pacedCamera(clip, producerStartMs);
    const putting = producer.put(camera.frames);
    try {
      await page.getByRole('tab', { name: 'Video', exact: true }).click();
      await page.getByRole('button', { name: 'console-camera' }).click();
      await page.getByText('Retention').waitFor({ timeout: 15_000 });
      await page.getByRole('button', { name: 'Play live' }).click();
      await page.getByRole('status').filter({ hasText: 'Playing live' }).waitFor({ timeout: 30_000 });
      // Played on for 4 s: time advances, frames are decoded at the stream's size, the picture is not black.
      const video = page.getByLabel('Video of console-camera');
      const started = await video.evaluate((v: any) => v.currentTime as number);
      await page.waitForFunction((t0) => (globalThis as any).document.querySelector('video').currentTime - t0 >= 4, started, { timeout: 30_000, polling: 100 });
      const seen = await video.evaluate((v: any) => {
        const c = (globalThis as any).document.createElement('canvas');
        c.width = 160;
        c.height = 90;
        const g = c.getContext('2d');
        g.drawImage(v, 0, 0, c.width, c.height);
        const px = g.getImageData(0, 0, c.width, c.height).data;
        let sum = 0;
        for (let i = 0; i < px.length; i += 4) sum += 0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2];
        return { width: v.videoWidth, height: v.videoHeight, frames: v.getVideoPlaybackQuality().totalVideoFrames, meanLuma: sum / (px.length / 4) };
      });
      expect([seen.width, seen.height]).toEqual([640, 360]);
      expect(seen.frames).toBeGreaterThan(0);
      // testsrc is a bright colour chart: a black frame has no luma.
      expect(seen.meanLuma).toBeGreaterThan(40);
      await expectNamedControls(page);
      await screenshot(page, 'video');
      await page.getByRole('button', { name: 'Stop video' }).click();
    } finally {
      camera.stop();
      await putting;
    }

    // Recordings: the timeline lists what ListFragments lists (no gaps: the camera sent without pause), then
    // playback from the first fragment, a clip (an MP4 ffprobe reads) and frames (GetImages).
    const am = archivedMediaClient(gw.url, { accessKeyId: operator.accessKeyId, secretAccessKey: operator.secretAccessKey });
    const listed = await am.send(new ListFragmentsCommand({
      StreamName: 'console-camera', MaxResults: 1000,
      FragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(Date.now() - 3_600_000), EndTimestamp: new Date() } },
    }));
    am.destroy();
    const n = listed.Fragments!.length;
    expect(n).toBeGreaterThan(2);
    const recordings = page.getByRole('region', { name: 'Recordings' });
    await recordings.getByRole('button', { name: 'Load recordings' }).click();
    await recordings.getByText(`${n} fragments from`).waitFor({ timeout: 15_000 });
    expect(await recordings.innerText()).toContain('no gaps');
    expect(await recordings.getByRole('img', { name: `Timeline: ${n} fragments, 0 gaps; click to choose the time to start from` }).locator('rect').count()).toBe(n);
    const firstMs = Math.min(...listed.Fragments!.map((f) => f.ProducerTimestamp!.getTime()));
    expect(Date.parse(await page.getByLabel('From (UTC, ISO 8601)').inputValue())).toBe(firstMs);

    await recordings.getByRole('button', { name: 'Play recorded' }).click();
    await page.getByRole('status').filter({ hasText: 'Playing recorded from' }).waitFor({ timeout: 30_000 });
    const t0 = await page.getByLabel('Video of console-camera').evaluate((v: any) => v.currentTime as number);
    await page.waitForFunction((t) => (globalThis as any).document.querySelector('video').currentTime - t >= 2, t0, { timeout: 30_000, polling: 100 });
    await page.getByRole('button', { name: 'Stop video' }).click();

    const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), recordings.getByRole('button', { name: 'Download clip' }).click()]);
    const clipFile = path.join(tempDir('trb-console-clip-'), download.suggestedFilename());
    await download.saveAs(clipFile);
    expect(clipFile).toMatch(/console-camera-.*\.mp4$/);
    const clipProbe = probe(clipFile);
    expect([clipProbe.codec, clipProbe.width, clipProbe.height]).toEqual(['h264', 640, 360]);
    expect(clipProbe.duration).toBeGreaterThan(1);
    await recordings.getByRole('status').filter({ hasText: 'Clip of 30 s from' }).waitFor();

    await recordings.getByRole('button', { name: 'Show frames' }).click();
    const frame = recordings.getByRole('img', { name: /^Frame at / }).first();
    await frame.waitFor({ timeout: 30_000 });
    expect(await frame.evaluate((i: any) => [i.naturalWidth, i.complete])).toEqual([160, true]);
    await expectNamedControls(page);
    await screenshot(page, 'video-recordings');
  }, 120_000);

  it('edits an analytics application: an SQL error at its line and column, then start, output rows, stop', async () => {
    await page.getByRole('tab', { name: 'Analytics', exact: true }).click();
    await page.getByRole('button', { name: 'console-app' }).click();
    const editor = page.getByLabel('Application code (SQL)');
    await editor.waitFor({ timeout: 15_000 });
    expect(await editor.inputValue()).toBe(appCode);
    // A misspelt column on line 3: the gateway's CodeValidationException, shown at line 3 and the column of the name, the cursor put there.
    const broken = appCode.replace('STREAM "device", "temperature" FROM', 'STREAM "device", "temprature" FROM');
    const column = broken.split('\n')[2]!.indexOf('"temprature"') + 1;
    await editor.fill(broken);
    expected400 = { response: 1, console: 1 };
    await page.getByRole('button', { name: 'Save code' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'Line 3' });
    await alert.waitFor({ timeout: 15_000 });
    expect(await alert.innerText()).toContain(`Line 3, column ${column}:`);
    expect(await alert.innerText()).toContain(`${' '.repeat(column - 1)}^`);
    const cursor = await editor.evaluate((e: any) => e.selectionStart as number);
    expect(cursor).toBe(appCode.split('\n').slice(0, 2).join('\n').length + 1 + column - 1);
    expect(expected400.response).toBe(0);
    await editor.fill(appCode.replace('> 30', '> 31'));
    await page.getByRole('button', { name: 'Save code' }).click();
    await page.getByRole('status').filter({ hasText: 'Code saved' }).waitFor({ timeout: 15_000 });

    await page.getByLabel('Start from').selectOption('NOW');
    await page.getByRole('button', { name: 'Start application' }).click();
    await page.getByRole('status').filter({ hasText: /^RUNNING$/ }).waitFor({ timeout: 30_000 });
    const output = page.getByRole('region', { name: 'Output DESTINATION_SQL_STREAM' });
    await output.getByRole('button', { name: 'Start tail' }).click();
    await output.getByText('Tailing new records').waitFor({ timeout: 15_000 });
    const k = new KinesisClient({ endpoint: gw.url, region: operator.region, credentials: { accessKeyId: operator.accessKeyId, secretAccessKey: operator.secretAccessKey } });
    for (const [device, temperature] of [['pi-cold', 20.5], ['pi-hot', 35.5]] as const) {
      await k.send(new PutRecordCommand({ StreamName: 'console-demo', PartitionKey: device, Data: Buffer.from(JSON.stringify({ device, temperature })) }));
    }
    k.destroy();
    const row = output.locator('ol.tail pre', { hasText: 'pi-hot' });
    await row.waitFor({ timeout: 30_000 });
    expect(JSON.parse(await row.innerText())).toEqual({ device: 'pi-hot', temperature: 35.5 });
    expect(await output.locator('ol.tail pre', { hasText: 'pi-cold' }).count()).toBe(0);
    await expectNamedControls(page);
    await screenshot(page, 'analytics');
    await output.getByRole('button', { name: 'Stop tail' }).click();
    await page.getByRole('button', { name: 'Stop application' }).click();
    await page.getByRole('status').filter({ hasText: /^READY$/ }).waitFor({ timeout: 30_000 });
  }, 90_000);

  it('revokes an operator from the Devices view, then signs out', async () => {
    // Devices view: an extra operator listed, revoked from the page (two steps), revoked on the gateway.
    const admin = new JsonRpcClient({ endpoint: gw.url, region: operator.region, service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: operator });
    const spare = await admin.call<{ Principal: { AccessKeyId: string } }>('CreateOperator', { Name: 'spare-op', Policy: 'reader' });
    await page.getByRole('tab', { name: 'Devices', exact: true }).click();
    await page.getByRole('button', { name: 'Revoke spare-op' }).click();
    await page.getByRole('button', { name: 'Confirm revoke spare-op' }).click();
    await page.getByRole('status').filter({ hasText: `Revoked ${spare.Principal.AccessKeyId}` }).waitFor({ timeout: 15_000 });
    const listed = await admin.call<{ Principals: Array<{ AccessKeyId: string; Status: string }> }>('ListPrincipals', {});
    expect(listed.Principals.find((x) => x.AccessKeyId === spare.Principal.AccessKeyId)?.Status).toBe('REVOKED');
    admin.close();
    await expectNamedControls(page);
    await screenshot(page, 'devices');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.length as number)).toBe(0);
    expect(problems).toEqual([]);
    expect(expected400).toEqual({ response: 0, console: 0 });
    await page.close();
  }, 60_000);

  it('pairs a device from the page (code, CA fingerprint, QR), sees its agent\'s heartbeat, rotates its key', async () => {
    // Pairing needs HTTPS: a second gateway with its own CA, and a real agent paired by the command the page shows.
    const dataDir = tempDir('trb-console-tls-');
    const tls = await spawnGateway(['--data', dataDir]);
    const op = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8')) as typeof operator;
    const ca = fs.readFileSync(path.join(dataDir, 'tls', 'ca.crt'), 'utf8');
    const admin = new JsonRpcClient({ endpoint: tls.url, region: op.region, service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: op, ca });
    const p = await browser.context.newPage();
    p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    p.on('console', (m) => void (m.type() === 'error' && problems.push(`console error: ${m.text()}`)));
    const state = fs.mkdtempSync('/var/tmp/trb-agent-');
    let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
    try {
      await p.goto(`${tls.url}/console/`);
      await p.getByLabel('Access key ID').fill(op.accessKeyId);
      await p.getByLabel('Secret access key').fill(op.secretAccessKey);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await p.getByRole('tab', { name: 'Devices', exact: true }).click();
      await p.getByLabel('Device name').fill('pi-console');
      await p.getByRole('button', { name: 'Create pairing code' }).click();
      const shown = p.locator('.pairing');
      await shown.waitFor({ timeout: 15_000 });
      const command = await shown.locator('pre.command').innerText();
      const fingerprint = /--ca-fingerprint (\S+)/.exec(command)?.[1];
      expect(fingerprint).toBe(tls.logs.map((l) => /"caFingerprint":"([^"]+)"/.exec(l)?.[1]).find(Boolean));
      expect(await shown.innerText()).toContain(fingerprint!);
      const code = command.split(' ')[3]!;
      expect(command).toBe(`tributary-agent pair ${tls.url} ${code} --ca-fingerprint ${fingerprint}`);
      // The QR code, read back by an independent decoder (zbar) from a screenshot, says the same.
      const qrFile = path.join(state, 'qr.png');
      await p.getByRole('img', { name: 'QR code of the pairing command for pi-console' }).screenshot({ path: qrFile });
      expect(execFileSync('zbarimg', ['--raw', '-q', qrFile], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()).toBe(command);
      await expectNamedControls(p);
      await screenshot(p, 'pairing');

      // The device pairs with exactly that command, then runs; its heartbeat shows in the view.
      execFileSync(process.execPath, [agentBundlePath(), ...command.split(' ').slice(1), '--state-dir', state], { cwd: repoRoot, stdio: 'pipe' });
      const k = new JsonRpcClient({ endpoint: tls.url, region: op.region, service: 'kinesis', targetPrefix: 'Kinesis_20131202', credentials: op, ca });
      await k.call('CreateStream', { StreamName: 'telemetry-pi-console', ShardCount: 1 });
      k.close();
      const port = await freePort();
      const config = path.join(state, 'agent.yaml');
      fs.writeFileSync(config, [
        'gateway:', `  credentials: ${path.join(state, 'credentials.json')}`, 'state:', `  dir: ${state}`,
        'inputs:', '  http:', '    enabled: true', `    port: ${port}`, '    destination: main',
        'destinations:', '  main:', '    stream: telemetry-${device}', 'uplink:', '  retryMaxMs: 200', '  requestTimeoutMs: 2000',
      ].join('\n') + '\n');
      agent = await startAgent(config);
      // A record through the agent: its link comes up, and its heartbeat says so.
      await expect.poll(async () => ((await fetch(`http://127.0.0.1:${port}/v1/records?partitionKey=pi`, { method: 'POST', body: '{"t":1}' }).catch(() => undefined))?.status ?? 500) < 300, { timeout: 15_000 }).toBe(true);
      const row = p.getByRole('row').filter({ hasText: 'pi-console' });
      await expect.poll(async () => {
        await p.getByRole('button', { name: 'Refresh devices' }).click();
        return row.innerText();
      }, { timeout: 30_000 }).toMatch(/main → telemetry-pi-console: link up, 0 records \(0 B\) buffered/);
      expect(await row.innerText()).toMatch(/\d+ s ago/);
      expect(await row.innerText()).toContain('agent 0.1.0');
      await screenshot(p, 'devices-health');

      // Rotate: the new secret is shown once and works; the old one does not.
      const before = JSON.parse(fs.readFileSync(path.join(state, 'credentials.json'), 'utf8')) as { accessKeyId: string; secretAccessKey: string };
      await p.getByRole('button', { name: 'Rotate pi-console' }).click();
      await p.getByRole('button', { name: 'Confirm rotate pi-console' }).click();
      const notice = p.getByRole('status').filter({ hasText: 'Rotated pi-console' });
      await notice.waitFor({ timeout: 15_000 });
      const m = /access key (\S+), secret (\S+) \(shown once/.exec(await notice.innerText())!;
      const beat = { AgentVersion: 'test', Destinations: [] };
      const as = (accessKeyId: string, secretAccessKey: string) => new JsonRpcClient({ endpoint: tls.url, region: op.region, service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: { accessKeyId, secretAccessKey }, ca });
      const fresh = as(m[1]!, m[2]!);
      await fresh.call('PutHeartbeat', beat);
      fresh.close();
      const stale = as(before.accessKeyId, before.secretAccessKey);
      await expect(stale.call('PutHeartbeat', beat)).rejects.toMatchObject({ name: 'UnrecognizedClientException' });
      stale.close();
      expect(problems).toEqual([]);
    } finally {
      admin.close();
      agent?.proc.kill('SIGTERM');
      await agent?.exited;
      await p.close();
      tls.child.kill('SIGTERM');
      await tls.exited;
    }
  }, 120_000);
});
