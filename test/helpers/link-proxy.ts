/**
 * A fault-injecting TCP proxy for links we cannot degrade with tc netem:
 * latency per chunk, stalls (bytes held, connection kept), resets in the
 * middle of a request or of a response, a bandwidth cap per direction, and a
 * link that refuses every connection (pause / resume).
 * Bytes are forwarded in order; nothing is altered.
 */
import net from 'node:net';

export interface LinkFaults {
  /** Added one way to every chunk, both directions. */
  latencyMs: number;
  /** Bytes per second per direction and connection (0: no cap). */
  bandwidthBytesPerSecond: number;
  /** Reset every n-th chunk towards the target after forwarding half of it (0: never). */
  requestResetEvery: number;
  /** Reset every n-th chunk coming back from the target instead of forwarding it (0: never). */
  responseResetEvery: number;
}

export class LinkProxy {
  /** Link down: new connections are reset at once (see pause). */
  refusing = false;
  faults: LinkFaults = { latencyMs: 0, bandwidthBytesPerSecond: 0, requestResetEvery: 0, responseResetEvery: 0 };
  readonly counts = { connections: 0, requestResets: 0, responseResets: 0, stalls: 0 };
  private stalledUntil = 0;
  private requestChunks = 0;
  private responseChunks = 0;
  private readonly sockets = new Set<net.Socket>();

  private constructor(readonly server: net.Server, private readonly target: { host: string; port: number }) {}

  static async start(target: { host: string; port: number }, listenHost = '127.0.0.1'): Promise<LinkProxy> {
    const server = net.createServer();
    const proxy = new LinkProxy(server, target);
    server.on('connection', (s) => proxy.accept(s));
    await new Promise<void>((r) => server.listen(0, listenHost, () => r()));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `http://127.0.0.1:<port>`, for plain-HTTP targets. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Link down: open connections are reset, new ones refused. */
  pause(): void {
    this.refusing = true;
    for (const s of this.sockets) s.resetAndDestroy();
  }

  resume(): void {
    this.refusing = false;
  }

  /** Holds every byte for `ms` (connections stay open): a link that stops moving, then resumes. */
  stall(ms: number): void {
    this.counts.stalls++;
    this.stalledUntil = Date.now() + ms;
  }

  async close(): Promise<void> {
    this.refusing = true;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private accept(client: net.Socket): void {
    if (this.refusing) {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    this.counts.connections++;
    const upstream = net.connect(this.target.port, this.target.host);
    for (const s of [client, upstream]) {
      s.on('error', () => {});
      this.sockets.add(s);
      s.on('close', () => {
        this.sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    const cut = () => {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    };
    this.pipe(client, upstream, (chunk) => {
      if (this.faults.requestResetEvery && ++this.requestChunks % this.faults.requestResetEvery === 0) {
        this.counts.requestResets++;
        upstream.write(chunk.subarray(0, chunk.length >> 1), cut);
        return false;
      }
      return true;
    });
    this.pipe(upstream, client, () => {
      if (this.faults.responseResetEvery && ++this.responseChunks % this.faults.responseResetEvery === 0) {
        this.counts.responseResets++;
        cut();
        return false;
      }
      return true;
    });
  }

  /** Forwards `from` to `to` in order, with latency, stalls and the bandwidth cap; `pass` may veto a chunk (and cut). */
  private pipe(from: net.Socket, to: net.Socket, pass: (chunk: Buffer) => boolean): void {
    const queue: Array<{ chunk: Buffer; dueMs: number }> = [];
    let sending = false;
    let nextFreeMs = 0;
    const drain = async () => {
      if (sending) return;
      sending = true;
      while (queue.length && !to.destroyed) {
        const head = queue[0]!;
        const wait = Math.max(head.dueMs, this.stalledUntil, nextFreeMs) - Date.now();
        if (wait > 0) {
          await new Promise((r) => setTimeout(r, Math.min(wait, 50)));
          continue;
        }
        queue.shift();
        if (!pass(head.chunk)) break;
        const bw = this.faults.bandwidthBytesPerSecond;
        nextFreeMs = bw ? Date.now() + (head.chunk.length * 1000) / bw : 0;
        to.write(head.chunk);
      }
      sending = false;
    };
    from.on('data', (chunk: Buffer) => {
      // Large chunks are split so that the bandwidth cap paces within a request.
      const piece = this.faults.bandwidthBytesPerSecond ? Math.max(1024, Math.floor(this.faults.bandwidthBytesPerSecond / 20)) : chunk.length;
      for (let i = 0; i < chunk.length; i += piece) queue.push({ chunk: chunk.subarray(i, i + piece), dueMs: Date.now() + this.faults.latencyMs });
      void drain();
    });
  }
}
