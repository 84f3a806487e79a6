/**
 * The MQTT input: subscribes to topic filters on the device's local broker
 * at QoS 1 and appends each message to its destination's buffer. A QoS 1
 * message is acknowledged (PUBACK) only after its record is durable, through
 * mqtt.js's MQTT 5 `customHandleAcks` hook; when the append fails the message
 * is left unacknowledged and the input reconnects (with backoff), so the
 * broker redelivers it from the persistent session. See docs/agent-inputs.md.
 */
import os from 'node:os';
import { connect, type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient } from 'mqtt';
import type { AppendRecord } from '../buffer/index.ts';
import {
  backoffMs, configError, intField, isPermanentAppendError, objectWithKeys, stringField, type RecordSink,
} from './common.ts';
import { extractPartitionKey, fallbackPartitionKey, findRule, parseRule, type MqttRule } from './mqtt-rules.ts';

export const mqttUrlDefault = 'mqtt://127.0.0.1:1883';
export const mqttKeepaliveSecDefault = 30;
/** How long the broker keeps our session (subscriptions, unacked messages) while we are away. */
export const mqttSessionExpirySecDefault = 24 * 3600;
export const mqttReconnectMinMsDefault = 500;
export const mqttReconnectMaxMsDefault = 30_000;
export const mqttConnectTimeoutMsDefault = 10_000;
/** MQTT 5.0 3.4.2.1: "Unspecified error", sent for a message the buffer can never take. */
const pubackUnspecifiedError = 0x80;

export interface MqttInputConfig {
  readonly url: string;
  readonly clientId: string;
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly keepaliveSec: number;
  readonly sessionExpirySec: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
  readonly rules: readonly MqttRule[];
}

/** Parses the `inputs.mqtt` section once at startup into a frozen config; unknown keys are errors. */
export function parseMqttInputConfig(raw: unknown, where = 'inputs.mqtt'): MqttInputConfig {
  const o = objectWithKeys(where, raw, [
    'url', 'clientId', 'username', 'password', 'keepaliveSec', 'sessionExpirySec', 'reconnectMinMs', 'reconnectMaxMs',
    'connectTimeoutMs', 'rules',
  ]);
  if (!Array.isArray(o.rules) || o.rules.length === 0) throw configError(`${where}.rules`, 'must be a non-empty list');
  const reconnectMinMs = intField(`${where}.reconnectMinMs`, o.reconnectMinMs, mqttReconnectMinMsDefault, 10, 600_000);
  return Object.freeze({
    url: stringField(`${where}.url`, o.url, mqttUrlDefault),
    clientId: stringField(`${where}.clientId`, o.clientId, `tributary-agent-${os.hostname()}`),
    username: o.username === undefined ? undefined : stringField(`${where}.username`, o.username),
    password: o.password === undefined ? undefined : stringField(`${where}.password`, o.password),
    keepaliveSec: intField(`${where}.keepaliveSec`, o.keepaliveSec, mqttKeepaliveSecDefault, 1, 65_535),
    sessionExpirySec: intField(`${where}.sessionExpirySec`, o.sessionExpirySec, mqttSessionExpirySecDefault, 1, 0xffff_ffff),
    reconnectMinMs,
    reconnectMaxMs: intField(`${where}.reconnectMaxMs`, o.reconnectMaxMs, Math.max(reconnectMinMs, mqttReconnectMaxMsDefault), reconnectMinMs, 3_600_000),
    connectTimeoutMs: intField(`${where}.connectTimeoutMs`, o.connectTimeoutMs, mqttConnectTimeoutMsDefault, 100, 600_000),
    rules: Object.freeze(o.rules.map((r, i) => parseRule(`${where}.rules[${i}]`, r))),
  });
}

export interface MqttInputCounters {
  /** Messages handed to us by the broker (redeliveries count again). */
  received: number;
  /** Records durable in a buffer. */
  buffered: number;
  /** Appends that failed and left the message unacknowledged for redelivery. */
  failed: number;
  /** Messages the buffer can never take (too large, invalid): acked with reason 0x80 and dropped. */
  rejected: number;
  /** Messages no rule matched (overlapping broker subscriptions): acked and dropped. */
  unmatched: number;
  /** Records whose partition key spec found nothing, so the topic was used. */
  partitionKeyFallbacks: number;
  /** Successful connections after the first. */
  reconnects: number;
}

export type MqttInputEvent =
  | { kind: 'connected'; sessionPresent: boolean }
  | { kind: 'subscribed'; filters: number }
  | { kind: 'disconnected' }
  | { kind: 'append-failed'; destination: string; code: string }
  | { kind: 'error'; detail: string };

export interface MqttInputOptions {
  /** Arrival clock for `capturedAtMs`. */
  now?: () => number;
  /** Structured events for the agent's log; never carries payloads. */
  onEvent?: (event: MqttInputEvent) => void;
}

/** Marks errors we hand to mqtt.js ourselves, so its `error` event can tell them from real ones. */
class NotAckedError extends Error {}

/** A PUBACK waiting for its record to be durable (see MqttInput's `#held`). */
interface HeldPuback {
  id: number;
  durable: boolean;
  send?: () => void;
  packet?: { reasonCode?: number };
}

export class MqttInput {
  readonly #config: MqttInputConfig;
  readonly #sinks: ReadonlyMap<string, RecordSink>;
  readonly #now: () => number;
  readonly #onEvent: (event: MqttInputEvent) => void;
  readonly #counters: MqttInputCounters = {
    received: 0, buffered: 0, failed: 0, rejected: 0, unmatched: 0, partitionKeyFallbacks: 0, reconnects: 0,
  };
  #client: MqttClient | undefined;
  #connects = 0;
  #attempt = 0;
  #failureStreak = 0;
  /** Set when an append failed on the current connection: later messages are not acked either, keeping order. */
  #refusing = false;
  #subscribed = false;
  #waiters: Array<() => void> = [];
  #stopped = false;
  /**
   * PUBACKs in the order their PUBLISHes arrived, each held until its
   * record is durable. mqtt.js handles one packet at a time and goes on only
   * once the previous PUBACK is "sent"; it is told so at once, and the real
   * PUBACK leaves when the append resolves. So a connection has as many
   * messages in flight as the broker allows (its max_inflight_messages), and
   * one group-committed fsync acknowledges them all.
   */
  #held: HeldPuback[] = [];

  constructor(config: MqttInputConfig, sinks: ReadonlyMap<string, RecordSink>, options: MqttInputOptions = {}) {
    for (const r of config.rules) {
      if (!sinks.has(r.destination)) throw configError('inputs.mqtt', `no buffer for destination ${r.destination} (filter ${r.filter})`);
    }
    this.#config = config;
    this.#sinks = sinks;
    this.#now = options.now ?? Date.now;
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /** Starts connecting; returns at once. The broker may come up later; the input keeps trying. */
  start(): void {
    if (this.#client) throw new Error('MqttInput already started');
    const c = this.#config;
    const options: IClientOptions = {
      clientId: c.clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: c.sessionExpirySec },
      keepalive: c.keepaliveSec,
      reconnectPeriod: c.reconnectMinMs,
      connectTimeout: c.connectTimeoutMs,
      resubscribe: false,
      // mqtt-packet would otherwise build a Buffer for each of the 65,536 packet ids on the first write: 6.3 MB of heap
      // (a third of the agent's at 100 messages/s, issue #15); without the cache a PUBACK's id takes a 2-byte Buffer.
      writeCache: false,
      customHandleAcks: (topic, message, packet, cb) => this.#onPublish(topic, message, packet as IPublishPacket, cb),
    };
    if (c.username !== undefined) options.username = c.username;
    if (c.password !== undefined) options.password = c.password;
    const client = connect(c.url, options);
    this.#client = client;
    this.#holdPubacks(client);
    client.on('connect', (connack) => this.#onConnect(client, connack));
    client.on('reconnect', () => {
      // mqtt.js re-arms its reconnect timer from this value at the next close: that makes the backoff.
      client.options.reconnectPeriod = backoffMs(++this.#attempt, c.reconnectMinMs, c.reconnectMaxMs);
    });
    client.on('close', () => {
      if (this.#subscribed) this.#onEvent({ kind: 'disconnected' });
      this.#subscribed = false;
      // PUBACKs still held belong to the lost connection: the broker redelivers those messages.
      this.#held = [];
    });
    client.on('message', (topic, payload, packet) => {
      // QoS 1 and 2 go through customHandleAcks; QoS 0 has nothing to acknowledge.
      if (packet.qos === 0) this.#onPublish(topic, payload, packet, () => {});
    });
    client.on('error', (err) => {
      if (!(err instanceof NotAckedError)) this.#onEvent({ kind: 'error', detail: err.message });
    });
  }

  /** Resolves when the input is connected and subscribed (now, or at the next connection). */
  ready(): Promise<void> {
    if (this.#subscribed) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  counters(): Readonly<MqttInputCounters> {
    return { ...this.#counters };
  }

  /** The live client, for tests that need to break its connection. */
  get client(): MqttClient | undefined {
    return this.#client;
  }

  /** Disconnects. Messages whose append has not finished stay unacked in the broker's session. */
  async stop(): Promise<void> {
    if (this.#stopped || !this.#client) return;
    this.#stopped = true;
    await this.#client.endAsync(true);
  }

  #onConnect(client: MqttClient, connack: IConnackPacket): void {
    if (this.#connects++ > 0) this.#counters.reconnects++;
    this.#attempt = 0;
    this.#refusing = false;
    client.options.reconnectPeriod = this.#config.reconnectMinMs;
    this.#onEvent({ kind: 'connected', sessionPresent: connack.sessionPresent });
    // Subscribing on every connect is idempotent and picks up rules added since the session was made;
    // rh: 1 asks for retained messages only when the subscription is new.
    const subs = Object.fromEntries(this.#config.rules.map((r) => [r.filter, { qos: 1 as const, rh: 1 }]));
    client.subscribe(subs, (err, granted) => {
      if (err) {
        this.#onEvent({ kind: 'error', detail: `subscribe failed: ${err.message}` });
        return;
      }
      const refused = (granted ?? []).filter((g) => g.qos === 128);
      if (refused.length > 0) this.#onEvent({ kind: 'error', detail: `broker refused ${refused.map((g) => g.topic).join(', ')}` });
      this.#subscribed = true;
      this.#onEvent({ kind: 'subscribed', filters: this.#config.rules.length });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Routes mqtt.js's PUBACKs through `#held` (see there). */
  #holdPubacks(client: MqttClient): void {
    type Send = (packet: { cmd: string; messageId?: number; reasonCode?: number }, cb?: () => void, ...rest: unknown[]) => void;
    const c = client as unknown as { _sendPacket: Send };
    const original: Send = c._sendPacket.bind(client);
    c._sendPacket = (packet, cb, ...rest) => {
      const entry = packet.cmd === 'puback' ? this.#held.find((e) => e.id === packet.messageId && !e.send) : undefined;
      if (!entry) return original(packet, cb, ...rest);
      if (entry.packet?.reasonCode !== undefined) packet.reasonCode = entry.packet.reasonCode; // refused before mqtt.js got here
      entry.packet = packet;
      entry.send = () => original(packet, undefined, ...rest);
      cb?.(); // mqtt.js goes on with the next packet now; the PUBACK waits for durability.
      this.#flushHeld();
    };
  }

  /** Sends the held PUBACKs, in order, up to the first whose record is not durable yet. */
  #flushHeld(): void {
    while (this.#held.length > 0 && this.#held[0]!.durable && this.#held[0]!.send) this.#held.shift()!.send!();
  }

  #onPublish(topic: string, payload: Buffer, packet: IPublishPacket, cb: (error: Error | number, code?: number) => void): void {
    const arrivalMs = this.#now();
    this.#counters.received++;
    if (this.#refusing) {
      cb(new NotAckedError('an earlier message on this connection is waiting for redelivery'));
      return;
    }
    const held: HeldPuback | undefined = packet.qos === 1 ? { id: packet.messageId!, durable: false } : undefined;
    if (held) this.#held.push(held);
    const rule = findRule(this.#config.rules, topic);
    if (!rule) {
      this.#counters.unmatched++;
      if (held) held.durable = true;
      cb(0);
      return;
    }
    let partitionKey = extractPartitionKey(rule.partitionKey, topic, payload);
    if (partitionKey === undefined) {
      this.#counters.partitionKeyFallbacks++;
      partitionKey = fallbackPartitionKey(topic);
    }
    const record: AppendRecord = { source: rule.source, partitionKey, data: payload, capturedAtMs: arrivalMs };
    const sink = this.#sinks.get(rule.destination)!;
    const appended = Promise.resolve().then(() => sink.append([record]));
    if (held) {
      // Pipelined: mqtt.js moves on now; the PUBACK leaves once the record is durable.
      cb(0);
      appended.then(
        () => {
          this.#counters.buffered++;
          this.#failureStreak = 0;
          held.durable = true;
          if (!this.#stopped) this.#flushHeld();
        },
        (err: unknown) => {
          if (this.#stopped) return;
          if (!this.#held.includes(held)) {
            // An earlier failure already dropped this connection: the broker redelivers this one too.
            this.#counters.failed++;
            return;
          }
          if (isPermanentAppendError(err)) {
            // The record itself is at fault: acknowledge it with an error code, as unpipelined.
            this.#counters.rejected++;
            this.#onEvent({ kind: 'append-failed', destination: rule.destination, code: String((err as { code?: unknown }).code) });
            if (held.packet) held.packet.reasonCode = pubackUnspecifiedError;
            else held.packet = { reasonCode: pubackUnspecifiedError };
            held.durable = true;
            this.#flushHeld();
            return;
          }
          // Neither this PUBACK nor any after it goes out: a new connection makes the broker redeliver them.
          this.#held = [];
          this.#onAppendFailed(rule, packet, err, () => {});
        },
      );
      return;
    }
    appended.then(
      () => {
        this.#counters.buffered++;
        this.#failureStreak = 0;
        // After stop the client is gone; the broker redelivers the message next start (a duplicate, never a loss).
        if (!this.#stopped) cb(0);
      },
      (err: unknown) => {
        if (!this.#stopped) this.#onAppendFailed(rule, packet, err, cb);
      },
    );
  }

  #onAppendFailed(rule: MqttRule, packet: IPublishPacket, err: unknown, cb: (error: Error | number, code?: number) => void): void {
    const code = String((err as { code?: unknown } | null)?.code ?? 'UNKNOWN');
    this.#onEvent({ kind: 'append-failed', destination: rule.destination, code });
    if (isPermanentAppendError(err)) {
      this.#counters.rejected++;
      cb(pubackUnspecifiedError);
      return;
    }
    this.#counters.failed++;
    if (packet.qos === 0) return; // Nothing to redeliver: QoS 0 is at-most-once by contract.
    this.#refusing = true;
    cb(new NotAckedError(`append failed (${code}); left unacknowledged for redelivery`));
    // MQTT redelivers unacknowledged messages only on a new connection, so make one, later each time.
    const client = this.#client!;
    client.options.reconnectPeriod = backoffMs(this.#failureStreak++, this.#config.reconnectMinMs, this.#config.reconnectMaxMs);
    if (!this.#stopped) client.stream.destroy();
  }
}
