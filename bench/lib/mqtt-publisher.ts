/**
 * A QoS 1 MQTT publisher for the agent benchmark, run as its own process so
 * that its CPU is not the agent's or the benchmark's. Publishes `count`
 * messages of `bytes` bytes to `<prefix>/dev-<i mod keys>/reading`, keeping up
 * to `inFlight` unacknowledged (PUBACK) at once and never past the allowance
 * the parent writes to stdin (one cumulative message count a line; the
 * broker drops QoS 1 messages queued past max_queued_messages for a slow
 * subscriber, so the parent keeps the publisher just ahead of the agent),
 * until it has published `count` or reads `stop`; then prints one JSON line:
 * `{ published, failed, startedAtMs, endedAtMs, errors }` (wall-clock ms, so
 * the parent can line it up with its own clock).
 *
 * With `ratePerS`, the publisher paces itself instead (open loop): message i
 * goes at i / ratePerS seconds after the start, whatever the agent does, as
 * a device's sensors would; stdin then only says `stop`.
 *
 *   node --import tsx bench/lib/mqtt-publisher.ts <url> <prefix> <count> <bytes> <inFlight> <keys> [ratePerS]
 */
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';

const [url, prefix, countText, bytesText, inFlightText, keysText, rateText] = process.argv.slice(2);
if (!url || !prefix || !countText || !bytesText || !inFlightText || !keysText) {
  process.stderr.write('usage: mqtt-publisher.ts <url> <prefix> <count> <bytes> <inFlight> <keys>\n');
  process.exit(2);
}
let count = Number(countText);
const bytes = Number(bytesText), inFlightMax = Number(inFlightText), keys = Number(keysText);
const ratePerS = rateText ? Number(rateText) : 0;
if (!(ratePerS >= 0)) throw new Error(`ratePerS must be a non-negative number (got ${rateText})`);
const errorSamplesMax = 5;

const payloads = Array.from({ length: 16 }, () => randomBytes(bytes));
const topics = Array.from({ length: keys }, (_, k) => `${prefix}/dev-${k}/reading`);
// MQTT 3.1.1: no receive maximum from the broker to respect, so the window below is ours alone.
const client = await mqtt.connectAsync(url, { protocolVersion: 4, clean: true, clientId: `trb-bench-pub-${process.pid}`, reconnectPeriod: 0 });

let published = 0, failed = 0, inFlight = 0, next = 0, allowance = 0;
const errors: string[] = [];
let startedAtMs = 0;
await new Promise<void>((resolve) => {
  const pump = () => {
    if (startedAtMs === 0 && allowance > 0) startedAtMs = Date.now();
    while (inFlight < inFlightMax && next < count && next < allowance) {
      const i = next++;
      inFlight++;
      client.publish(topics[i % keys]!, payloads[i % payloads.length]!, { qos: 1 }, (err) => {
        inFlight--;
        if (err) {
          failed++;
          if (errors.length < errorSamplesMax) errors.push(err.message);
        } else published++;
        if (published + failed === count) resolve();
        else pump();
      });
    }
  };
  let pending = '';
  process.stdin.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString('utf8')).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      // `stop`: publish nothing more, finish once the messages in flight are acknowledged.
      if (line.trim() === 'stop') count = next;
      else if (line.trim()) allowance = Math.max(allowance, Number(line));
    }
    if (published + failed === count) resolve();
    else pump();
  });
  if (ratePerS > 0) {
    // Paced: the allowance follows the clock (checked every 10 ms; a late tick catches up at once).
    const t0 = Date.now();
    const tick = setInterval(() => {
      allowance = Math.min(count, Math.floor(((Date.now() - t0) * ratePerS) / 1000) + 1);
      if (allowance >= count) clearInterval(tick);
      pump();
    }, 10);
  }
});
const endedAtMs = Date.now();
await client.endAsync();
process.stdout.write(JSON.stringify({ published, failed, startedAtMs, endedAtMs, errors }) + '\n');
process.stdin.destroy();
