import { VideoProducer } from 'tributary/video-producer';
import { loadDeviceCredentials } from 'tributary/pairing';

const creds = loadDeviceCredentials('/var/lib/tributary');   // what tributary-agent pair stored
const producer = new VideoProducer({
  endpoint: creds.endpoint, region: creds.region, streamName: `cam-${creds.name}`,
  credentials: creds, ca: creds.caCertificate, cert: creds.clientCertificate, key: creds.clientKey,
});
const stop = new AbortController();
for (const signal of ['SIGTERM', 'SIGINT']) process.once(signal, () => stop.abort());   // ffmpeg closes its last fragment, which is sent too
const input = process.argv[2] === '--test-camera'
  ? ['-re', '-f', 'lavfi', '-i', 'testsrc=size=1280x720:rate=30', '-t', '6']   // 6 s of a test picture
  : ['-f', 'v4l2', '-i', '/dev/video0'];
const { fragments } = await producer.putFfmpeg(
  [...input, '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0'],
  { signal: stop.signal });
console.log(`${fragments.length} fragments, the last ${fragments.at(-1)?.fragmentNumber}`);
