/** Prometheus text on 127.0.0.1 only: buffer depth, age and uplink state per destination. */
import http from 'node:http';
import { serialMetricsText } from './inputs/serial.ts';
import type { AgentStatus } from './status.ts';
import type { CameraStatus } from './camera/index.ts';

function gauge(name: string, help: string, s: AgentStatus, value: (d: AgentStatus['destinations'][string]) => number): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
  for (const [d, v] of Object.entries(s.destinations)) out += `${name}{destination="${d}"} ${value(v)}\n`;
  return out;
}

export function metricsText(s: AgentStatus): string {
  let out = gauge('tributary_agent_buffer_records', 'Records waiting to be sent.', s, (v) => v.depthRecords);
  out += gauge('tributary_agent_buffer_bytes', 'Bytes waiting to be sent.', s, (v) => v.depthBytes);
  out += gauge('tributary_agent_oldest_unsent_age_seconds', 'Age of the oldest unsent record.', s, (v) => (v.oldestUnsentAgeMs ?? 0) / 1000);
  out += gauge('tributary_agent_link_up', 'Whether the uplink reaches the gateway (0 while unknown).', s, (v) => (v.link === 'up' ? 1 : 0));
  out += gauge('tributary_agent_buffer_cap_bytes', 'The disk cap of the buffer in force.', s, (v) => v.capBytes);
  out += gauge('tributary_agent_dropped_records', 'Records dropped by drop-oldest since start.', s, (v) => v.dropped);
  out += gauge('tributary_agent_rejected_records', 'Records refused by the buffer (cap or full disk) since start.', s, (v) => v.rejected);
  out += `# HELP tributary_agent_disk_low Whether the state directory's disk ran out of space (appends refused until it has room).\n# TYPE tributary_agent_disk_low gauge\ntributary_agent_disk_low ${s.disk.low ? 1 : 0}\n`;
  if (s.serial) out += serialMetricsText(s.serial);
  if (s.cameras) out += cameraMetricsText(s.cameras);
  return out + memoryMetricsText(process.memoryUsage());
}

/**
 * Where the agent's memory is (issue #15, the footprint targets): resident
 * set, V8's heap (reserved and used) and memory outside it (Buffers), as
 * Node reports them. Read per scrape, never on the data path.
 */
export function memoryMetricsText(m: NodeJS.MemoryUsage): string {
  const metrics: Array<[string, string, number]> = [
    ['process_resident_memory_bytes', 'Resident set size (RSS) of the agent process.', m.rss],
    ['nodejs_heap_size_total_bytes', 'V8 heap reserved.', m.heapTotal],
    ['nodejs_heap_size_used_bytes', 'V8 heap in use.', m.heapUsed],
    ['nodejs_external_memory_bytes', 'Memory of JavaScript objects held outside the V8 heap (Buffers among them).', m.external],
    ['nodejs_array_buffers_bytes', 'Memory of ArrayBuffers and Buffers.', m.arrayBuffers],
  ];
  return metrics.map(([name, help, v]) => `# HELP ${name} ${help}\n# TYPE ${name} gauge\n${name} ${v}\n`).join('');
}

export async function serveMetrics(port: number, status: () => AgentStatus): Promise<{ server: http.Server; port: number }> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(metricsText(status()));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}

/** Per camera: recording, what the ring holds, how far behind the upload is, what it dropped. */
export function cameraMetricsText(cameras: Record<string, CameraStatus>): string {
  const metrics: Array<[string, string, (c: CameraStatus) => number]> = [
    ['tributary_agent_camera_recording', 'Whether the camera records (ffmpeg runs and writes fragments).', (c) => (c.recording ? 1 : 0)],
    ['tributary_agent_camera_buffer_fragments', 'Fragments recorded and not yet PERSISTED by the gateway.', (c) => c.fragments],
    ['tributary_agent_camera_buffer_bytes', 'Bytes of fragments recorded and not yet PERSISTED.', (c) => c.bytes],
    ['tributary_agent_camera_oldest_unsent_age_seconds', 'Age of the oldest fragment not yet PERSISTED.', (c) => (c.oldestUnsentAgeMs ?? 0) / 1000],
    ['tributary_agent_camera_upload_bytes_per_second', 'Bytes PERSISTED per second over the last 10 s.', (c) => c.uploadBytesPerSecond],
    ['tributary_agent_camera_restarts', 'Capture restarts since start (ffmpeg exited).', (c) => c.restarts],
    ['tributary_agent_camera_dropped_fragments', 'Fragments the buffer dropped (drop-oldest) or did not keep (keep-oldest) since start.', (c) => c.droppedOldest + c.droppedNewest],
  ];
  let out = '';
  for (const [name, help, value] of metrics) {
    out += `# HELP ${name} ${help}\n# TYPE ${name} gauge\n`;
    for (const [camera, c] of Object.entries(cameras)) out += `${name}{camera="${camera}"} ${value(c)}\n`;
  }
  return out;
}
