/**
 * Progress of a replay: on a terminal, a cli-progress bar (records, MB,
 * rate, ETA); otherwise one JSON line every few seconds on stdout. Rates are
 * over this run; ETA from the source bytes left, when the source knows its size.
 */
import cliProgress from 'cli-progress';

export interface ProgressSnapshot {
  read: number;
  sent: number;
  rejected: number;
  sentBytes: number;
  bytesRead: number;
  totalBytes: number | undefined;
}

export type ProgressMode = 'bar' | 'json' | 'none';

const mb = (n: number) => Math.round(n / 1e4) / 100;

export class Progress {
  private bar: cliProgress.SingleBar | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly startedMs = Date.now();
  private readonly sentAtStart: number;

  constructor(private readonly mode: ProgressMode, private readonly snapshot: () => ProgressSnapshot, intervalMs: number) {
    this.sentAtStart = snapshot().sent;
    if (mode === 'bar') {
      this.bar = new cliProgress.SingleBar({
        format: ' {bar} {percentage}% | {sent} records | {mb} MB | {rate} rec/s | ETA {etaText} | rejected {rejected}',
        hideCursor: true, stopOnComplete: false, clearOnComplete: false, etaBuffer: 50, fps: 5, stream: process.stdout,
      }, cliProgress.Presets.shades_classic);
      const s = snapshot();
      this.bar.start(s.totalBytes ?? 1, 0, this.payload(s));
      this.timer = setInterval(() => this.tick(), 250);
    } else if (mode === 'json') {
      this.timer = setInterval(() => this.tick(), intervalMs);
    }
    this.timer?.unref();
  }

  private figures(s: ProgressSnapshot) {
    const seconds = Math.max(0.001, (Date.now() - this.startedMs) / 1000);
    const rate = (s.sent - this.sentAtStart) / seconds;
    const byteRate = s.bytesRead / seconds;
    const etaS = s.totalBytes !== undefined && byteRate > 0 ? Math.max(0, Math.round((s.totalBytes - s.bytesRead) / byteRate)) : undefined;
    return { rate: Math.round(rate), etaS };
  }

  private payload(s: ProgressSnapshot) {
    const f = this.figures(s);
    const eta = f.etaS === undefined ? '?' : f.etaS >= 3600 ? `${Math.floor(f.etaS / 3600)}h${Math.floor((f.etaS % 3600) / 60)}m` : f.etaS >= 60 ? `${Math.floor(f.etaS / 60)}m${f.etaS % 60}s` : `${f.etaS}s`;
    return { sent: s.sent, mb: mb(s.sentBytes), rate: f.rate, etaText: eta, rejected: s.rejected };
  }

  private tick(): void {
    const s = this.snapshot();
    if (this.bar) {
      this.bar.setTotal(s.totalBytes ?? Math.max(1, s.bytesRead));
      this.bar.update(s.bytesRead, this.payload(s));
      return;
    }
    const f = this.figures(s);
    process.stdout.write(JSON.stringify({ progress: { read: s.read, sent: s.sent, rejected: s.rejected, sentMB: mb(s.sentBytes), recordsPerS: f.rate, ...(f.etaS !== undefined ? { etaS: f.etaS } : {}) } }) + '\n');
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.bar) {
      this.tick();
      this.bar.stop();
    }
  }
}
