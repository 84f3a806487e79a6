/**
 * The agent's heartbeat to the gateway (`Tributary_20261125.PutHeartbeat`,
 * signed with the device's keys): its version and, per destination, the
 * buffer depth, the age of the oldest unsent record, the link state and the
 * last error, and per camera its state, ring depth, oldest unsent fragment
 * and restarts, as in status.json. The gateway keeps the last one and shows it
 * in the web console's Devices view (gateway/devices/heartbeats.ts).
 *
 * Sent at start, every `heartbeatIntervalMs`, and as soon as a link state,
 * a last error, a camera's state or the disk's state changes (checked every few seconds), so
 * that the console sees a link go down or come back without waiting a
 * minute. One request at a time; a failure is logged once (and once more when
 * a heartbeat gets through again) and tried again at the next interval: the
 * heartbeat never holds up the data path, which has its own uplinks.
 */
import { JsonRpcClient, type Credentials, type JsonRpcClientOptions } from '../sdk/http/json-rpc-client.ts';
import type { AgentLogger } from './daemon.ts';
import type { AgentStatus } from './status.ts';

/** The agent's version as the heartbeat reports it (package.json's; test/unit/agent-heartbeat.test.ts keeps them equal). */
export const agentVersion = '0.1.0';
export const heartbeatIntervalMsDefault = 60_000;
/** How often a change of link, last error or disk is looked for. */
export const heartbeatCheckMs = 5000;

/** Where and as whom to send: the JSON-RPC client's connection options, credentials required. */
export interface HeartbeatOptions extends Pick<JsonRpcClientOptions, 'endpoint' | 'region' | 'ca' | 'cert' | 'key'> {
  credentials: Credentials;
  status(): AgentStatus;
  log: AgentLogger;
  intervalMs?: number;
}

/** The PutHeartbeat input for a status (pure). */
export function heartbeatOf(s: AgentStatus): { AgentVersion: string; DiskLow: boolean; Destinations: Array<Record<string, unknown>>; Cameras?: Array<Record<string, unknown>> } {
  return {
    AgentVersion: agentVersion,
    DiskLow: s.disk.low,
    ...(s.cameras ? {
      Cameras: Object.entries(s.cameras).slice(0, 16).map(([name, c]) => ({
        Name: name, Stream: c.stream, State: c.state, BufferFragments: c.fragments, BufferBytes: c.bytes, Restarts: c.restarts,
        ...(c.oldestUnsentAgeMs !== undefined ? { OldestUnsentAgeMs: Math.round(c.oldestUnsentAgeMs) } : {}),
      })),
    } : {}),
    Destinations: Object.entries(s.destinations).slice(0, 64).map(([name, d]) => ({
      Name: name, Stream: d.stream, BufferRecords: d.depthRecords, BufferBytes: d.depthBytes, Link: d.link,
      ...(d.oldestUnsentAgeMs !== undefined ? { OldestUnsentAgeMs: Math.round(d.oldestUnsentAgeMs) } : {}),
      ...(d.lastError ? { LastError: d.lastError.slice(0, 1024) } : {}),
    })),
  };
}

export function startHeartbeat(o: HeartbeatOptions): { stop(): void } {
  const client = new JsonRpcClient({
    endpoint: o.endpoint, region: o.region, service: 'tributary', targetPrefix: 'Tributary_20261125', credentials: o.credentials,
    ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key! } : {}), timeoutMs: 10_000,
  });
  const intervalMs = o.intervalMs ?? heartbeatIntervalMsDefault;
  let lastTriedMs = -Infinity;
  let lastState = '';
  let busy = false;
  let failing = false;
  const check = async () => {
    if (busy) return;
    const body = heartbeatOf(o.status());
    const state = JSON.stringify([body.DiskLow, body.Destinations.map((d) => [d.Name, d.Link, d.LastError]), body.Cameras?.map((c) => [c.Name, c.State])]);
    if (Date.now() - lastTriedMs < intervalMs && state === lastState) return;
    busy = true;
    lastTriedMs = Date.now();
    lastState = state;
    try {
      await client.call('PutHeartbeat', body);
      if (failing) o.log.info('heartbeat sent again');
      failing = false;
    } catch (err) {
      if (!failing) o.log.warn('heartbeat not sent; trying again at the next interval', { error: (err as Error).message });
      failing = true;
    } finally {
      busy = false;
    }
  };
  void check();
  const timer = setInterval(() => void check(), Math.min(heartbeatCheckMs, intervalMs));
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      client.close();
    },
  };
}
