/**
 * Plays an HLS URL in Debian's Chromium with hls.js, through playwright-core
 * (no downloaded browser: /usr/bin/chromium, a fresh empty profile, no
 * background traffic), and reports what a viewer would see: whether time
 * advanced, frames were decoded, the picture's size, fatal hls.js errors, and
 * how bright a canvas snapshot of the picture is.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium, type BrowserContext } from 'playwright-core';

export const chromiumPath = process.env.TRIBUTARY_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return fs.existsSync(chromiumPath);
}

const hlsJs = createRequire(import.meta.url).resolve('hls.js/dist/hls.min.js');

const page = `<!doctype html><html><body style="margin:0;background:#000">
<video id="v" muted autoplay playsinline width="640" height="360"></video>
<script src="/hls.min.js"></script>
</body></html>`;

/** A loopback server for the player page and hls.js itself (the page needs a real http origin for CORS). */
export async function startPageServer(): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (req.url === '/hls.min.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(fs.readFileSync(hlsJs));
    } else {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(page);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/player.html`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

export interface PlaybackReport {
  currentTime: number;
  startTime: number;
  totalVideoFrames: number;
  videoWidth: number;
  videoHeight: number;
  fatalErrors: string[];
  /** Mean luma (0-255) of a canvas snapshot of the video. */
  meanLuma: number;
  /** Share of snapshot pixels brighter than near-black. */
  litShare: number;
}

/** Chromium with a new empty profile and the flags for headless media playback. */
export async function launchChromium(o: { ignoreHttpsErrors?: boolean } = {}): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'trb-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    // A gateway with its own test CA (TLS): the player trusts it as a device that pinned the CA would.
    ...(o.ignoreHttpsErrors ? { ignoreHTTPSErrors: true } : {}),
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--autoplay-policy=no-user-gesture-required',
      '--disable-background-networking', '--disable-component-update', '--disable-default-apps', '--disable-sync',
      '--disable-extensions', '--no-first-run', '--no-default-browser-check', '--metrics-recording-only',
      '--disable-domain-reliability', '--disable-breakpad', '--mute-audio', '--disable-dev-shm-usage',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Opens the player page, plays `hlsUrl` and waits until the video has played
 * `playSeconds` past where it started (or `timeoutMs` passes), then reports.
 */
export async function playHls(context: BrowserContext, pageUrl: string, hlsUrl: string, o: { playSeconds: number; timeoutMs: number }): Promise<PlaybackReport> {
  const p = await context.newPage();
  try {
    await p.goto(pageUrl);
    await p.evaluate((src) => {
      const w = globalThis as unknown as { Hls: any; fatal: string[]; startTime?: number };
      w.fatal = [];
      const video = (globalThis as any).document.getElementById('v');
      const hls = new w.Hls({ enableWorker: false, lowLatencyMode: false });
      hls.on(w.Hls.Events.ERROR, (_e: unknown, d: { fatal: boolean; type: string; details: string }) => {
        if (d.fatal) w.fatal.push(`${d.type}: ${d.details}`);
      });
      video.addEventListener('playing', () => (w.startTime ??= video.currentTime), { once: true });
      hls.loadSource(src);
      hls.attachMedia(video);
      void video.play().catch(() => {});
    }, hlsUrl);
    await p.waitForFunction(
      (seconds) => {
        const w = globalThis as unknown as { fatal: string[]; startTime?: number };
        const v = (globalThis as any).document.getElementById('v');
        return w.fatal.length > 0 || (w.startTime !== undefined && v.currentTime - w.startTime >= seconds);
      },
      o.playSeconds,
      { timeout: o.timeoutMs, polling: 100 },
    ).catch(() => undefined);
    return await p.evaluate(() => {
      const w = globalThis as unknown as { fatal: string[]; startTime?: number };
      const v = (globalThis as any).document.getElementById('v');
      const c = (globalThis as any).document.createElement('canvas');
      c.width = 160;
      c.height = 90;
      const g = c.getContext('2d')!;
      g.drawImage(v, 0, 0, c.width, c.height);
      const px = g.getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      let lit = 0;
      for (let i = 0; i < px.length; i += 4) {
        const y = 0.299 * px[i]! + 0.587 * px[i + 1]! + 0.114 * px[i + 2]!;
        sum += y;
        if (y > 24) lit++;
      }
      const n = px.length / 4;
      return {
        currentTime: v.currentTime, startTime: w.startTime ?? -1, totalVideoFrames: v.getVideoPlaybackQuality().totalVideoFrames,
        videoWidth: v.videoWidth, videoHeight: v.videoHeight, fatalErrors: w.fatal, meanLuma: sum / n, litShare: lit / n,
      };
    });
  } finally {
    await p.close();
  }
}
