/**
 * The video benchmark's reference: the least work any Node server must do to
 * answer the two measured requests, run in the same bench run as the gateway
 * so that both see the same machine load.
 *
 * - POST /ingest/<camera>: a chunked body of fragments, each prefixed by its
 *   length (u32, big-endian). Each complete fragment is appended to the
 *   camera's own file and fsynced, then `<index>\n` is written back: the
 *   floor under PutMedia's "PERSISTED only once durable" (no MKV parsing, no
 *   index, no encryption, no JSON).
 * - GET /segment/<i>: file <i> of the segments directory, read once and then
 *   answered from memory (what a cached HLS segment costs at the least).
 * - GET /health.
 *
 * Run: node --import tsx bench/video-reference-server.ts <port> <dataDir> <segmentsDir>
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { promisify } from 'node:util';

const write = promisify(fs.write);
const fsync = promisify(fs.fsync);

const [portArg, dataDir, segmentsDir] = process.argv.slice(2);
if (!portArg || !dataDir || !segmentsDir) throw new Error('usage: video-reference-server.ts <port> <dataDir> <segmentsDir>');
/** Segments by index, read from the directory once (the bench fills it before the first GET), then served from memory. */
const segments = new Map<number, Buffer>();
function segment(i: number): Buffer | undefined {
  let s = segments.get(i);
  if (!s && Number.isSafeInteger(i) && fs.existsSync(path.join(segmentsDir!, String(i)))) segments.set(i, (s = fs.readFileSync(path.join(segmentsDir!, String(i)))));
  return s;
}

/** One camera's upload: fragments in order, each written and fsynced before its ack. */
function ingest(camera: string, req: http.IncomingMessage, res: http.ServerResponse): void {
  const fd = fs.openSync(path.join(dataDir!, `${camera.replace(/[^a-z0-9-]/gi, '_')}.bin`), 'a', 0o600);
  res.writeHead(200, { 'Content-Type': 'text/plain' });
  let buffered: Buffer[] = [];
  let bufferedBytes = 0;
  let index = 0;
  let chain = Promise.resolve();
  const fragments = (): Buffer[] => {
    const out: Buffer[] = [];
    for (;;) {
      if (bufferedBytes < 4) return out;
      const joined = buffered.length === 1 ? buffered[0]! : Buffer.concat(buffered);
      const length = joined.readUInt32BE(0);
      if (joined.length < 4 + length) {
        buffered = [joined];
        return out;
      }
      out.push(joined.subarray(4, 4 + length));
      buffered = joined.length > 4 + length ? [joined.subarray(4 + length)] : [];
      bufferedBytes = joined.length - 4 - length;
    }
  };
  req.on('data', (chunk: Buffer) => {
    buffered.push(chunk);
    bufferedBytes += chunk.length;
    for (const fragment of fragments()) {
      const n = index++;
      chain = chain.then(async () => {
        let at = 0;
        while (at < fragment.length) at += (await write(fd, fragment, at, fragment.length - at, null)).bytesWritten;
        await fsync(fd);
        res.write(`${n}\n`);
      });
    }
  });
  req.on('end', () => void chain.then(() => res.end(), (err: Error) => res.destroy(err)).finally(() => fs.closeSync(fd)));
}

const server = http.createServer({ keepAlive: true }, (req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/health') return res.end('ok');
  if (req.method === 'POST' && url.startsWith('/ingest/')) return ingest(url.slice('/ingest/'.length), req, res);
  const body = req.method === 'GET' && url.startsWith('/segment/') ? segment(Number(url.slice('/segment/'.length))) : undefined;
  if (!body) {
    res.writeHead(404).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': body.length });
  res.end(body);
});
server.listen(Number(portArg), '127.0.0.1');
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
