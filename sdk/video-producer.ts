/**
 * `tributary/video-producer`: stream Matroska (a camera's ffmpeg output, a
 * file) into a video stream with PutMedia, reconnecting and resuming at
 * fragment boundaries. A public entry module (docs/video.md).
 *
 * @example
 * import { VideoProducer } from 'tributary/video-producer';
 * const producer = new VideoProducer({ endpoint, region: 'us-east-1', credentials, streamName: 'cam-front' });
 * const { fragments } = await producer.putFile('clip.mkv');
 */
export { VideoProducer, type VideoProducerOptions, type PutResult as VideoPutResult } from './video/producer.ts';
export type { Credentials } from './http/json-rpc-client.ts';
export { AwsError, TributaryError } from './protocol/errors.ts';
