/**
 * The web console in Debian's Chromium (playwright-core, no downloaded
 * browser) against the shipped gateway bundle: sign in with the operator's
 * keys (exchanged for session credentials), see a stream and its shards, start
 * the live tail, put a JSON record and see it arrive pretty-printed, sign out.
 * No console errors or failed requests; every control has an accessible
 * name; a screenshot is kept under tmp/test-artifacts/ (git-ignored).
 */
import fs from 'node:fs';
import path from 'node:path';
import { CreateStreamCommand, KinesisClient } from '@aws-sdk/client-kinesis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JsonRpcClient } from '../../sdk/http/json-rpc-client.ts';
import { repoRoot } from '../helpers/bundles.ts';
import { tempDir, waitActive } from '../helpers/gateway.ts';
import { chromiumAvailable, launchChromium } from '../helpers/hls-browser.ts';
import { spawnGateway, type SpawnedGateway } from '../helpers/spawn-gateway.ts';

const artifacts = path.join(repoRoot, 'tmp', 'test-artifacts');

describe.skipIf(!chromiumAvailable())('web console in Chromium', () => {
  let gw: SpawnedGateway;
  let operator: { accessKeyId: string; secretAccessKey: string; region: string };
  let browser: Awaited<ReturnType<typeof launchChromium>>;

  beforeAll(async () => {
    const dataDir = tempDir('trb-console-');
    gw = await spawnGateway(['--data', dataDir, '--insecure-http']);
    operator = JSON.parse(fs.readFileSync(path.join(dataDir, 'operator.json'), 'utf8'));
    const k = new KinesisClient({ endpoint: gw.url, region: operator.region, credentials: operator });
    await k.send(new CreateStreamCommand({ StreamName: 'console-demo', ShardCount: 2 }));
    await waitActive(k, 'console-demo');
    k.destroy();
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    gw?.child.kill('SIGTERM');
    await gw?.exited;
  });

  it('signs in, shows the stream and its shards, tails a record put from the page', async () => {
    const page = await browser.context.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
    });

    await page.goto(`${gw.url}/console/`);
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
    await page.getByLabel('Data').fill(JSON.stringify({ marker, reading: { temp: 21.5 } }));
    await page.getByRole('button', { name: 'Put record' }).click();
    await page.getByRole('status').filter({ hasText: 'Stored in shardId-' }).waitFor({ timeout: 15_000 });
    const entry = page.locator('ol.tail pre', { hasText: marker });
    await entry.waitFor({ timeout: 20_000 });
    // Pretty-printed: one key per line, indented.
    expect(await entry.innerText()).toBe(JSON.stringify({ marker, reading: { temp: 21.5 } }, null, 2));

    // Every control has an accessible name.
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
    // The same through Chromium's accessibility tree.
    const snapshot = await page.locator('body').ariaSnapshot();
    expect(snapshot).not.toMatch(/- (button|textbox)\s*$/m);

    fs.mkdirSync(artifacts, { recursive: true });
    await page.screenshot({ path: path.join(artifacts, 'console-streams.png'), fullPage: true });

    await page.getByRole('button', { name: 'Stop tail' }).click();

    // Devices view: an extra operator listed, revoked from the page (two steps), revoked on the gateway.
    const admin = new JsonRpcClient({ endpoint: gw.url, region: operator.region, service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: operator });
    const spare = await admin.call<{ Principal: { AccessKeyId: string } }>('CreateOperator', { Name: 'spare-op', Policy: 'reader' });
    await page.getByRole('button', { name: 'Devices', exact: true }).click();
    await page.getByRole('button', { name: 'Revoke spare-op' }).click();
    await page.getByRole('button', { name: 'Confirm revoke spare-op' }).click();
    await page.getByRole('status').filter({ hasText: `Revoked ${spare.Principal.AccessKeyId}` }).waitFor({ timeout: 15_000 });
    const listed = await admin.call<{ Principals: Array<{ AccessKeyId: string; Status: string }> }>('ListPrincipals', {});
    expect(listed.Principals.find((x) => x.AccessKeyId === spare.Principal.AccessKeyId)?.Status).toBe('REVOKED');
    admin.close();
    expect(await page.locator('body').ariaSnapshot()).not.toMatch(/- (button|textbox)\s*$/m);
    await page.screenshot({ path: path.join(artifacts, 'console-devices.png'), fullPage: true });
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.evaluate(() => (globalThis as any).sessionStorage.length as number)).toBe(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});
