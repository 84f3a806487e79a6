/**
 * `tributary/agent-producer`: hand records to the device's agent through its
 * local socket; `put` resolves once the record is durable in the agent's
 * buffer, which sends it when the link allows. A public entry module
 * (docs/sdk.md, docs/agent-socket.md).
 *
 * @example
 * import { AgentProducer } from 'tributary/agent-producer';
 * const producer = new AgentProducer({ destination: 'telemetry', clientName: 'myapp' });
 * await producer.put('{"temp":21.5}', { partitionKey: 'pi-01' });
 * await producer.close();
 */
export {
  AgentProducer, agentProducerDefaults, type AgentProducerOptions, type AgentProducerEvent, type AgentPutResult,
} from './streams/agent-producer.ts';
export { TributaryError } from './protocol/errors.ts';
