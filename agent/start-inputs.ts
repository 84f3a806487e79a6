/**
 * Starts the inputs a config asks for, each appending to the destinations'
 * sinks. Events go to the log: the routine ones (connected, listening) at
 * info, trouble at warn; an input's append failures are not logged here per
 * record but per destination by the daemon's sinks, as conditions.
 */
import type { AgentConfig } from './config.ts';
import type { AgentLogger } from './daemon.ts';
import { FileTailInput, parseFileTailConfig } from './inputs/file-tail.ts';
import { HttpInput, parseHttpInputConfig } from './inputs/http.ts';
import { JournaldInput, parseJournaldInputConfig } from './inputs/journald.ts';
import { parseSerialPortConfig, SerialInput } from './inputs/serial.ts';
import { parseSocketInputConfig, SocketInput } from './inputs/socket.ts';
import type { RecordSink } from './inputs/common.ts';

export interface StartedInputs {
  inputs: Array<{ stop(): Promise<void> }>;
  serial: SerialInput | undefined;
}

/** Event kinds that report trouble; everything else an input says is routine. */
const troubleKinds = new Set(['error', 'protocol-error', 'state-save-failed', 'disconnected']);

function eventLogger(log: AgentLogger, input: string): (e: unknown) => void {
  return (e) => {
    const fields = { ...(e as Record<string, unknown>) };
    const kind = String(fields.kind ?? '');
    // Counted, not logged per record: append failures per destination by the daemon's sinks, duplicates in the input's counters.
    if (kind === 'append-failed' || kind === 'duplicate') return;
    if (troubleKinds.has(kind)) log.warn(input, fields);
    else log.info(input, fields);
  };
}

export async function startInputs(config: AgentConfig, sinks: ReadonlyMap<string, RecordSink>, inputsDir: string, log: AgentLogger): Promise<StartedInputs> {
  const inputs: Array<{ stop(): Promise<void> }> = [];
  if (config.inputs.mqtt.rules?.length) {
    const { rules, ...rest } = config.inputs.mqtt;
    // Loaded only when configured: the MQTT client and its dependencies are half of the bundle.
    const { MqttInput, parseMqttInputConfig } = await import('./inputs/mqtt.ts');
    const mqtt = new MqttInput(parseMqttInputConfig({ ...rest, rules: rules.map(withoutEmptyKey) }), sinks, { onEvent: eventLogger(log, 'mqtt') });
    mqtt.start();
    inputs.push(mqtt);
  }
  for (const [i, f] of (config.inputs.files ?? []).entries()) {
    const tail = new FileTailInput(parseFileTailConfig({ name: `files-${i}`, ...withoutEmptyKey(f), stateDir: inputsDir }, `inputs.files[${i}]`), sinks.get(f.destination)!, {
      onEvent: eventLogger(log, 'file'),
    });
    await tail.start();
    inputs.push(tail);
  }
  if (config.inputs.journald.destination !== undefined) {
    const j = config.inputs.journald;
    const journald = new JournaldInput(parseJournaldInputConfig({ ...withoutEmptyKey(j), stateDir: inputsDir }), sinks.get(j.destination!)!, {
      onEvent: eventLogger(log, 'journald'),
    });
    await journald.start();
    inputs.push(journald);
  }
  let serial: SerialInput | undefined;
  if (config.inputs.serial?.length) {
    serial = new SerialInput(config.inputs.serial.map((p, i) => parseSerialPortConfig({ ...p, stateDir: inputsDir }, `inputs.serial[${i}]`)), sinks, {
      onEvent: eventLogger(log, 'serial'),
    });
    serial.start();
    inputs.push(serial);
  }
  if (config.inputs.socket.enabled ?? config.inputs.socket.destination !== undefined) {
    const socket = new SocketInput(parseSocketInputConfig({ ...config.inputs.socket, stateDir: inputsDir }), sinks, { onEvent: eventLogger(log, 'socket') });
    await socket.start();
    inputs.push(socket);
  }
  if (config.inputs.http.enabled) {
    const httpInput = new HttpInput(parseHttpInputConfig(config.inputs.http), sinks, { onEvent: eventLogger(log, 'http') });
    await httpInput.start();
    inputs.push(httpInput);
  }
  return { inputs, serial };
}

/** The config schema fills an absent `partitionKey` with `{}`; the inputs want it absent (their default applies). */
function withoutEmptyKey<T extends { partitionKey?: object }>(o: T): T {
  if (o.partitionKey && Object.keys(o.partitionKey).length === 0) {
    const { partitionKey: _unused, ...rest } = o;
    return rest as T;
  }
  return o;
}
