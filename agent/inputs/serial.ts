/**
 * The serial input: microcontrollers on UART / USB serial ports speaking the
 * firmware-bridge protocol (firmware-bridge/PROTOCOL.md). One `SerialLink`
 * per port does the I/O (open, stty, read, write, reopen after an unplug);
 * one `SerialSession` per port speaks the protocol (dedup, time sync, acks
 * after the append is durable). Records go to the destinations' buffers;
 * each port's dedup state is stored in `stateDir` (serial-state.ts) and
 * restored at start. See docs/agent-inputs.md, "Serial".
 */
import fs from 'node:fs';
import type { RecordSink } from './common.ts';
import { configError } from './common.ts';
import { serialDestinations, type SerialPortConfig } from './serial-config.ts';
import { SerialLink, type SerialLinkEvent } from './serial-link.ts';
import { SerialSession, type SerialSessionCounters, type SerialSessionEvent } from './serial-session.ts';
import { loadSerialState, serialStateFile } from './serial-state.ts';

export * from './serial-config.ts';
export { resolveSerialPath, type SerialLinkEvent } from './serial-link.ts';
export { cborToJson, serialRecord, type SerialTimeSource } from './serial-record.ts';
export type { SerialSessionCounters, SerialSessionEvent } from './serial-session.ts';
export { loadSerialState, serialStateFile } from './serial-state.ts';

export interface SerialPortCounters extends SerialSessionCounters {
  /** The device the port is open on now (the resolved path), or null while waiting for it. */
  device: string | null;
  connected: boolean;
  /** Successful opens, the first included: `opens - 1` reconnects. */
  opens: number;
  /** Frames for the MCU (acks, nacks, time syncs) dropped because the port was closed or its queue full. */
  writesDropped: number;
}

export type SerialInputEvent = { port: string } & (SerialLinkEvent | SerialSessionEvent);

export interface SerialInputOptions {
  now?: () => number;
  /** Structured events for the agent's log; never carries payloads. */
  onEvent?: (event: SerialInputEvent) => void;
}

interface Port {
  config: SerialPortConfig;
  link: SerialLink;
  session: SerialSession;
  openWaiters: Array<() => void>;
}

export class SerialInput {
  readonly #ports: Port[];
  #started = false;

  constructor(configs: readonly SerialPortConfig[], sinks: ReadonlyMap<string, RecordSink>, options: SerialInputOptions = {}) {
    const names = new Set<string>();
    for (const c of configs) {
      if (names.has(c.name)) throw configError('inputs.serial', `two ports are named ${c.name}; set name on one of them`);
      names.add(c.name);
      for (const d of serialDestinations(c)) if (!sinks.has(d)) throw configError('inputs.serial', `no buffer for destination ${d} (port ${c.name})`);
    }
    const onEvent = options.onEvent ?? (() => {});
    this.#ports = configs.map((config) => {
      const port = { config, openWaiters: [] } as unknown as Port;
      port.link = new SerialLink(config, {
        onOpen: () => {
          port.session.opened();
          for (const w of port.openWaiters.splice(0)) w();
        },
        onData: (chunk) => port.session.push(chunk),
        onClose: () => port.session.closed(),
        onEvent: (e) => onEvent({ port: config.name, ...e }),
      });
      port.session = new SerialSession(config, sinks, port.link, {
        stateFile: serialStateFile(config.stateDir, config.name),
        ...(options.now ? { now: options.now } : {}),
        onEvent: (e) => onEvent({ port: config.name, ...e }),
      });
      return port;
    });
  }

  /**
   * Restores each port's stored dedup state (throws INPUT_STATE_INVALID for a file it cannot read), then starts looking
   * for the ports and returns. A port that is absent is opened when it appears.
   */
  start(): void {
    if (this.#started) throw new Error('SerialInput already started');
    this.#started = true;
    for (const p of this.#ports) {
      fs.mkdirSync(p.config.stateDir, { recursive: true, mode: 0o700 });
      const stored = loadSerialState(serialStateFile(p.config.stateDir, p.config.name));
      if (stored) p.session.restore(stored);
    }
    for (const p of this.#ports) p.link.start();
  }

  /** Resolves when the named port (default: every port) is open. */
  async ready(name?: string): Promise<void> {
    await Promise.all(this.#ports.filter((p) => name === undefined || p.config.name === name).map((p) => (
      p.link.isOpen ? undefined : new Promise<void>((r) => p.openWaiters.push(r))
    )));
  }

  /** Per-port counters, keyed by port name. */
  counters(): Record<string, SerialPortCounters> {
    return Object.fromEntries(this.#ports.map((p) => [p.config.name, {
      ...p.session.counters(),
      device: p.link.device ?? null,
      connected: p.link.isOpen,
      opens: p.link.opens,
      writesDropped: p.link.writesDropped,
    }]));
  }

  /** Closes the ports after the appends in progress finish (their acks are sent if the port is still open). */
  async stop(): Promise<void> {
    await Promise.all(this.#ports.map(async (p) => {
      await p.session.stop();
      await p.link.stop();
    }));
  }
}

const metricFamilies: ReadonlyArray<[name: string, type: 'counter' | 'gauge', help: string, value: (c: SerialPortCounters) => number]> = [
  ['tributary_agent_serial_frames_ok_total', 'counter', 'Frames that passed the COBS, length, CRC and version checks.', (c) => c.framesOk],
  ['tributary_agent_serial_crc_errors_total', 'counter', 'Frames dropped for a bad CRC-32C.', (c) => c.crcErrors],
  ['tributary_agent_serial_resyncs_total', 'counter', 'Times the decoder dropped bytes and restarted at the next delimiter.', (c) => c.resyncs],
  ['tributary_agent_serial_drops_total', 'counter', 'Good frames not turned into records (bad payload, unknown type, stale, refused).', (c) => c.drops],
  ['tributary_agent_serial_duplicates_total', 'counter', 'Frames already seen in this boot session.', (c) => c.duplicates],
  ['tributary_agent_serial_records_total', 'counter', 'Records made durable.', (c) => c.records],
  ['tributary_agent_serial_connected', 'gauge', 'Whether the port is open.', (c) => (c.connected ? 1 : 0)],
  ['tributary_agent_serial_last_seen_timestamp_seconds', 'gauge', 'When the last good frame arrived (0: never).', (c) => (c.lastSeenMs ?? 0) / 1000],
  ['tributary_agent_serial_clock_drift_ppm', 'gauge', 'Estimated drift of the MCU clock.', (c) => c.driftPpm],
];

/** Prometheus text for the serial ports' counters, one family per metric, labelled by port name. */
export function serialMetricsText(ports: Readonly<Record<string, SerialPortCounters>>): string {
  let out = '';
  for (const [name, type, help, value] of metricFamilies) {
    out += `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
    for (const [port, c] of Object.entries(ports)) out += `${name}{port="${port}"} ${value(c)}\n`;
  }
  return out;
}
