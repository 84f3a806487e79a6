/**
 * The agent's inputs: the public surface. Each input appends records to a
 * `RecordSink` (a `DiskBuffer`) and acknowledges its own source only once the
 * append has resolved. See docs/agent-inputs.md.
 */
export { backoffMs, type InputErrorCode, type RecordSink } from './common.ts';
export {
  MqttInput, parseMqttInputConfig, type MqttInputConfig, type MqttInputCounters, type MqttInputEvent, type MqttInputOptions,
} from './mqtt.ts';
export { topicMatches, type MqttPartitionKeySpec, type MqttRule } from './mqtt-rules.ts';
export {
  JournaldInput, parseJournaldInputConfig, type JournaldInputConfig, type JournaldInputCounters, type JournaldInputEvent,
  type JournaldInputOptions, type JournaldPartitionKeySpec,
} from './journald.ts';
export {
  parseSerialPortConfig, SerialInput, serialMetricsText, type SerialAckMode, type SerialInputEvent, type SerialInputOptions,
  type SerialPortConfig, type SerialPortCounters, type SerialSensorConfig,
} from './serial.ts';
export {
  parseSocketInputConfig, SocketInput, type SocketInputConfig, type SocketInputCounters, type SocketInputEvent, type SocketInputOptions,
} from './socket.ts';
export {
  HttpInput, parseHttpInputConfig, type HttpInputConfig, type HttpInputCounters, type HttpInputEvent, type HttpInputOptions,
} from './http.ts';
export {
  FileTailInput, parseFileTailConfig, type FilePartitionKeySpec, type FileTailConfig, type FileTailCounters, type FileTailEvent,
  type FileTailOptions,
} from './file-tail.ts';
