/**
 * A simulated microcontroller on one end of a pty pair, speaking the
 * firmware-bridge protocol with the real TypeScript encoder: hello until
 * acked, answers time syncs, telemetry and log frames with sequence numbers,
 * acks requested and unacked frames retransmitted after a timeout (500 ms
 * doubling to 8 s, PROTOCOL.md section 5), plus the misbehaviour a real
 * line produces: noise, torn frames, CRC failures, a reset in the middle of
 * a frame, a burst at full rate. When its pty vanishes (socat killed) it
 * waits for the path to come back and retransmits what is still unacked.
 *
 * Usable in-process (`McuSim`) or as a child process:
 *   node --import tsx test/helpers/mcu-sim.ts '{"path":"/tmp/x/mcu","scenario":"full"}'
 * It prints one JSON object per line: {"event":"hello-acked"}, …, and at the
 * end {"event":"done","valid":[ids],"garbage":[ids]}. Scenario "stream" sends
 * a frame every `intervalMs` until a line "finish" arrives on stdin.
 */
import fs from 'node:fs';
import tty from 'node:tty';
import { pathToFileURL } from 'node:url';
import {
  encodeFrame, encodeMessage, FrameDecoder, decodeMessage, NackReason, type Message,
} from '../../firmware-bridge/index.ts';

export interface McuSimOptions {
  path: string;
  bootId: number;
  firmwareName?: string;
  ackTimeoutMs?: number;
  ackTimeoutMaxMs?: number;
  /** Every n-th ack-requested frame pretends to miss its first ack (so the retransmit is a duplicate). 0: never. */
  ignoreFirstAckEvery?: number;
  onEvent?: (event: Record<string, unknown>) => void;
}

interface Unacked {
  message: Message;
  id: number | undefined;
  deadline: number;
  timeoutMs: number;
  ignoreNextAck: boolean;
  acked: () => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class McuSim {
  readonly o: Required<Omit<McuSimOptions, 'onEvent'>> & Pick<McuSimOptions, 'onEvent'>;
  bootId: number;
  private bootAt = Date.now();
  private seq = 0;
  private readonly unacked = new Map<number, Unacked>();
  private decoder = new FrameDecoder();
  private stream: tty.ReadStream | undefined;
  private readFd: number | undefined;
  private writeFd: number | undefined;
  private writeChain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout;
  private stopped = false;
  private ackRequests = 0;
  private openWaiters: Array<() => void> = [];
  /** Every ack and nack received, in order (seq, reason for nacks), for tests. */
  readonly received: Array<{ type: string; seq: number; reason?: number; atMs: number }> = [];
  readonly stats = { framesSent: 0, retransmits: 0, acks: 0, nacks: 0, timeSyncs: 0, reopens: 0 };

  constructor(options: McuSimOptions) {
    this.o = { firmwareName: 'sim', ackTimeoutMs: 500, ackTimeoutMaxMs: 8000, ignoreFirstAckEvery: 0, ...options };
    this.bootId = options.bootId;
    this.timer = setInterval(() => this.retransmitDue(), 20);
  }

  get uptimeMs(): number {
    return Date.now() - this.bootAt;
  }

  get pendingAcks(): number {
    return this.unacked.size;
  }

  get isOpen(): boolean {
    return this.stream !== undefined;
  }

  /** Opens the pty (waiting for its path), and keeps reopening it after it vanishes. */
  async open(): Promise<void> {
    while (!this.stopped) {
      try {
        const fd = fs.openSync(this.o.path, fs.constants.O_RDWR | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
        this.attach(fd);
        return;
      } catch {
        await sleep(50);
      }
    }
  }

  waitOpen(): Promise<void> {
    return this.isOpen ? Promise.resolve() : new Promise((r) => this.openWaiters.push(r));
  }

  private attach(fd: number): void {
    const stream = new tty.ReadStream(fd);
    const handleFd = (stream as unknown as { _handle?: { fd?: number } })._handle?.fd;
    this.readFd = handleFd !== fd ? fd : undefined;
    this.writeFd = fs.openSync(this.o.path, fs.constants.O_WRONLY | fs.constants.O_NOCTTY | fs.constants.O_NONBLOCK);
    this.stream = stream;
    this.decoder = new FrameDecoder({ hunting: true });
    stream.on('data', (chunk: Buffer) => this.onData(chunk));
    const gone = () => this.detach(stream);
    stream.on('end', gone);
    stream.on('close', gone);
    stream.on('error', gone);
    this.o.onEvent?.({ event: 'opened' });
    for (const w of this.openWaiters.splice(0)) w();
  }

  private detach(stream: tty.ReadStream): void {
    if (this.stream !== stream) return;
    this.stream = undefined;
    stream.destroy();
    const fds = [this.readFd, this.writeFd];
    this.readFd = this.writeFd = undefined;
    // Let writes in progress finish before their descriptor goes.
    void this.writeChain.then(() => { for (const fd of fds) if (fd !== undefined) fs.close(fd, () => {}); });
    this.o.onEvent?.({ event: 'closed' });
    if (!this.stopped) {
      this.stats.reopens++;
      void this.open().then(() => {
        // Repeat what is unacked at once; the bridge kept our session (same boot), so no hello is needed.
        for (const [seq, u] of this.unacked) this.transmit(seq, u, true);
      });
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    const stream = this.stream;
    if (stream) {
      this.stream = undefined;
      stream.destroy();
    }
    await this.writeChain;
    for (const fd of [this.readFd, this.writeFd]) if (fd !== undefined) fs.closeSync(fd);
  }

  /** Raw bytes, in order with every other write. Errors (the pty went away) are ignored: the retransmit covers them. */
  writeRaw(bytes: Uint8Array): Promise<void> {
    const run = async () => {
      let at = 0;
      while (at < bytes.length) {
        const fd = this.writeFd;
        if (fd === undefined) return;
        try {
          at += fs.writeSync(fd, bytes, at, bytes.length - at);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
          await sleep(2);
        }
      }
    };
    this.writeChain = this.writeChain.then(run);
    return this.writeChain;
  }

  /** Encodes a message with the next seq; resolves when acked (at once without an ack request). */
  send(message: Message, o: { ack?: boolean; id?: number; write?: boolean } = {}): { seq: number; wire: Uint8Array; acked: Promise<void> } {
    const seq = this.seq;
    this.seq = (this.seq + 1) >>> 0;
    return this.sendWithSeq(seq, message, o);
  }

  private sendWithSeq(seq: number, message: Message, o: { ack?: boolean; id?: number; write?: boolean }): { seq: number; wire: Uint8Array; acked: Promise<void> } {
    const wire = encodeFrame(encodeMessage(message, { seq, ackRequested: o.ack ?? false }));
    let acked: Promise<void> = Promise.resolve();
    if (o.ack) {
      const ignoreNextAck = this.o.ignoreFirstAckEvery > 0 && ++this.ackRequests % this.o.ignoreFirstAckEvery === 0;
      acked = new Promise<void>((resolve) => {
        this.unacked.set(seq, { message, id: o.id, deadline: Date.now() + this.o.ackTimeoutMs, timeoutMs: this.o.ackTimeoutMs, ignoreNextAck, acked: resolve });
      });
    }
    if (o.write ?? true) {
      this.stats.framesSent++;
      void this.writeRaw(wire);
    }
    return { seq, wire, acked };
  }

  /** Boot: a lone 0x00, then the hello with seq 0, repeated until acked. A new boot id forgets everything unacked. */
  async boot(bootId = this.bootId): Promise<void> {
    this.bootId = bootId;
    this.bootAt = Date.now() - 1000;
    this.unacked.clear();
    this.seq = 0;
    void this.writeRaw(Uint8Array.of(0));
    await this.send({ type: 'hello', bootId, uptimeMs: this.uptimeMs, firmwareName: this.o.firmwareName, firmwareVersion: '1.0.0' }, { ack: true }).acked;
    this.o.onEvent?.({ event: 'hello-acked', bootId });
  }

  /** Telemetry carrying `id` as its first value (u32), so a test can find it in the stream. */
  telemetry(id: number, o: { ack?: boolean; sensorId?: number; write?: boolean } = {}): { seq: number; wire: Uint8Array; acked: Promise<void> } {
    return this.send({
      type: 'telemetry', sensorId: o.sensorId ?? 1, timeBase: 'uptime', timeMs: this.uptimeMs,
      body: { encoding: 'compact', values: [{ kind: 'u32', value: id }, { kind: 'f32', value: 21.5 }, { kind: 'i16', value: -40 }] },
    }, { ack: o.ack ?? true, id, write: o.write ?? true });
  }

  log(id: number, o: { ack?: boolean } = {}): { seq: number; acked: Promise<void> } {
    return this.send({ type: 'log', level: 'warn', timeBase: 'uptime', timeMs: this.uptimeMs, text: `log-${id}` }, { ack: o.ack ?? true, id });
  }

  /** Resolves when nothing is waiting for an ack. */
  async allAcked(timeoutMs = 60_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.unacked.size > 0) {
      if (Date.now() > end) throw new Error(`mcu-sim: ${this.unacked.size} frames still unacked (seqs ${[...this.unacked.keys()].slice(0, 10).join(',')})`);
      await sleep(20);
    }
  }

  /** Sends an unacked frame again now, without waiting for its timeout. */
  retransmitNow(seq: number): void {
    const u = this.unacked.get(seq);
    if (u) this.transmit(seq, u, true);
  }

  private transmit(seq: number, u: Unacked, retransmit: boolean): void {
    const wire = encodeFrame(encodeMessage(u.message, { seq, ackRequested: true, retransmit }));
    if (retransmit) this.stats.retransmits++;
    this.stats.framesSent++;
    void this.writeRaw(wire);
  }

  private retransmitDue(): void {
    if (!this.isOpen) return;
    const now = Date.now();
    for (const [seq, u] of this.unacked) {
      if (u.deadline > now) continue;
      u.timeoutMs = Math.min(u.timeoutMs * 2, this.o.ackTimeoutMaxMs);
      u.deadline = now + u.timeoutMs;
      this.transmit(seq, u, true);
    }
  }

  private onData(chunk: Buffer): void {
    for (const ev of this.decoder.push(chunk)) {
      if (ev.kind !== 'frame') continue;
      const m = decodeMessage(ev.frame);
      if (m.type === 'ack' || m.type === 'nack') this.onAnswer(m.type, m.ackSeq, m.type === 'nack' ? m.reason : undefined);
      else if (m.type === 'time-sync') {
        this.stats.timeSyncs++;
        this.send({ type: 'time-sync-reply', requestSeq: ev.frame.seq, wallMs: m.wallMs, uptimeMs: this.uptimeMs });
      }
    }
  }

  private onAnswer(type: 'ack' | 'nack', seq: number, reason: number | undefined): void {
    this.received.push({ type, seq, ...(reason !== undefined ? { reason } : {}), atMs: Date.now() });
    const u = this.unacked.get(seq);
    if (type === 'ack') this.stats.acks++;
    else this.stats.nacks++;
    if (!u) return;
    if (type === 'ack') {
      if (u.ignoreNextAck) {
        u.ignoreNextAck = false; // Pretend the ack was lost on the line: the retransmit makes a duplicate.
        return;
      }
      this.unacked.delete(seq);
      u.acked();
      return;
    }
    if (reason === NackReason.notDurable) return; // Retry on the timer.
    if (reason === NackReason.noSession) {
      void this.writeRaw(encodeFrame(encodeMessage({ type: 'hello', bootId: this.bootId, uptimeMs: this.uptimeMs, firmwareName: this.o.firmwareName, firmwareVersion: '1.0.0' }, { seq: 0, retransmit: true })));
      return;
    }
    this.unacked.delete(seq); // Bad payload, unsupported, stale: drop.
    this.o.onEvent?.({ event: 'dropped', seq, id: u.id ?? null, reason: reason ?? null });
    u.acked();
  }
}

/** Random bytes; with `zeros` some are delimiters (so the noise ends some partial frames by itself). */
export function noise(length: number, zeros: boolean): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = zeros ? Math.floor(Math.random() * 256) : 1 + Math.floor(Math.random() * 255);
  return b;
}

/**
 * The full scenario: noise, torn frames, CRC failures, lost acks, logs, a
 * reset in the middle of a frame, a burst. Returns the ids that must arrive
 * exactly once and those that must never arrive.
 */
export async function fullScenario(sim: McuSim, o: { frames?: number; burst?: number } = {}): Promise<{ valid: number[]; garbage: number[] }> {
  const valid: number[] = [];
  const garbage: number[] = [];
  let id = 1;
  const emit = sim.o.onEvent ?? (() => {});
  await sim.writeRaw(noise(40, true));
  await sim.boot();
  const acks: Promise<void>[] = [];
  for (let i = 0; i < (o.frames ?? 60); i++) {
    const dirty = i % 13 === 5 || i % 11 === 3 || i % 7 === 2;
    if (i % 13 === 5) {
      // A torn frame: most of a frame with a garbage id, no delimiter; the next frame merges into it and is lost, then retransmitted.
      const torn = sim.telemetry(id++, { ack: false, write: false });
      garbage.push(id - 1);
      await sim.writeRaw(torn.wire.subarray(0, Math.floor(torn.wire.length * 0.6)));
    } else if (i % 11 === 3) {
      // A frame corrupted on the line: one flipped bit, CRC fails.
      const bad = sim.telemetry(id++, { ack: false, write: false });
      garbage.push(id - 1);
      const wire = bad.wire.slice();
      wire[Math.floor(wire.length / 2)]! ^= 0x10;
      if (wire.slice(0, -1).includes(0)) wire[Math.floor(wire.length / 2)]! ^= 0x30; // Keep the block whole (no 0x00 inside).
      await sim.writeRaw(wire);
    } else if (i % 7 === 2) {
      await sim.writeRaw(noise(25, i % 2 === 0));
    }
    // After any garbage the next frame asks for an ack (it may be lost); best-effort frames only follow clean ones.
    if (i % 9 === 8 && !dirty) {
      sim.telemetry(id++, { ack: false, sensorId: 2 });
      valid.push(id - 1);
    } else if (i % 10 === 4) {
      acks.push(sim.log(id++).acked);
      valid.push(id - 1);
    } else {
      acks.push(sim.telemetry(id++, { sensorId: 1 + (i % 3) }).acked);
      valid.push(id - 1);
    }
    await sleep(5);
  }
  await Promise.all(acks);
  emit({ event: 'phase', phase: 'reset' });
  // Reset in the middle of a frame: half a frame, then the new boot's 0x00 and hello.
  const cut = sim.telemetry(id++, { ack: false, write: false });
  garbage.push(id - 1);
  await sim.writeRaw(cut.wire.subarray(0, 9));
  await sim.boot((sim.bootId + 1) >>> 0);
  const afterReset: Promise<void>[] = [];
  for (let i = 0; i < 20; i++) {
    afterReset.push(sim.telemetry(id++).acked);
    valid.push(id - 1);
  }
  await Promise.all(afterReset);
  emit({ event: 'phase', phase: 'burst' });
  // A burst at full rate: one write, every frame asking for an ack (fewer than the 1,024-seq window in flight).
  const burst: Uint8Array[] = [];
  const burstAcks: Promise<void>[] = [];
  for (let i = 0; i < (o.burst ?? 1000); i++) {
    const f = sim.telemetry(id++, { write: false, sensorId: 3 });
    burst.push(f.wire);
    burstAcks.push(f.acked);
    valid.push(id - 1);
  }
  await sim.writeRaw(Buffer.concat(burst));
  await Promise.all(burstAcks);
  await sim.allAcked();
  return { valid, garbage };
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as { path: string; scenario?: 'full' | 'stream'; bootId?: number; intervalMs?: number; ignoreFirstAckEvery?: number; burst?: number };
  const print = (e: Record<string, unknown>) => process.stdout.write(JSON.stringify(e) + '\n');
  const sim = new McuSim({ path: args.path, bootId: args.bootId ?? 0x5eed0001, ignoreFirstAckEvery: args.ignoreFirstAckEvery ?? 7, onEvent: print });
  await sim.open();
  let result: { valid: number[]; garbage: number[] };
  if ((args.scenario ?? 'full') === 'full') {
    result = await fullScenario(sim, { ...(args.burst !== undefined ? { burst: args.burst } : {}) });
  } else {
    let finishing = false;
    process.stdin.on('data', (d) => { if (String(d).includes('finish')) finishing = true; });
    await sim.boot();
    const valid: number[] = [];
    for (let id = 1; !finishing; id++) {
      void sim.telemetry(id).acked.then(() => print({ event: 'acked', id }));
      valid.push(id);
      await sleep(args.intervalMs ?? 10);
    }
    await sim.allAcked(120_000);
    result = { valid, garbage: [] };
  }
  print({ event: 'done', ...result, stats: sim.stats });
  await sim.close();
  process.exit(0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`mcu-sim: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  });
}
