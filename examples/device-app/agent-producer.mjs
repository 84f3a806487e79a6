import { AgentProducer } from 'tributary/agent-producer';

const producer = new AgentProducer({
  socketPath: '/run/tributary/agent.sock',   // default
  destination: 'telemetry',                  // default: the agent's inputs.socket.destination
  clientName: 'myapp',                       // records' source is socket:myapp; keep it stable
});
const { destination, source, bufferSequence } =
  await producer.put(JSON.stringify({ temp: 21.5 }), { partitionKey: 'pi-17' });
console.log(destination, source, bufferSequence);
await producer.close();
