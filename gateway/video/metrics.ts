/**
 * Kinesis Video Streams metrics under their CloudWatch names (AWS/KinesisVideo
 * namespace, "Monitoring Kinesis Video Streams metrics with CloudWatch"; a dot
 * becomes an underscore), labelled by stream, appended to the gateway's
 * /metrics page. Latencies are histograms in seconds (Prometheus' unit) where
 * CloudWatch reports milliseconds. Request counts and their latency by action
 * are the gateway's own `tributary_requests_total` and
 * `tributary_request_duration_seconds`.
 */
import { Counter, Gauge, Histogram } from '../metrics.ts';

const latencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const p = 'tributary_kinesisvideo_';

export class VideoMetrics {
  readonly putIncomingBytes = new Counter(`${p}PutMedia_IncomingBytes`, 'Bytes received by PutMedia, by stream (CloudWatch PutMedia.IncomingBytes).');
  readonly putIncomingFragments = new Counter(`${p}PutMedia_IncomingFragments`, 'Complete, valid fragments received by PutMedia, by stream (CloudWatch PutMedia.IncomingFragments).');
  readonly putIncomingFrames = new Counter(`${p}PutMedia_IncomingFrames`, 'Frames of those fragments, by stream (CloudWatch PutMedia.IncomingFrames).');
  readonly putErrorAcks = new Counter(`${p}PutMedia_ErrorAckCount`, 'ERROR acknowledgements sent, by stream and error_code (CloudWatch PutMedia.ErrorAckCount).');
  readonly putIngestionLatency = new Histogram(`${p}PutMedia_FragmentIngestionLatency_seconds`, "From a fragment's first byte (BUFFERING) to its last (CloudWatch PutMedia.FragmentIngestionLatency).", latencyBuckets);
  readonly putPersistedAckLatency = new Histogram(`${p}PutMedia_PersistedAckLatency_seconds`, "From a fragment's last byte to its PERSISTED acknowledgement: the store and its fsync (CloudWatch PutMedia.PersistedAckLatency).", latencyBuckets);
  readonly getMediaOutgoingBytes = new Counter(`${p}GetMedia_OutgoingBytes`, 'Bytes sent by GetMedia, by stream (CloudWatch GetMedia.OutgoingBytes).');
  readonly getMediaOutgoingFragments = new Counter(`${p}GetMedia_OutgoingFragments`, 'Fragments sent by GetMedia, by stream (CloudWatch GetMedia.OutgoingFragments).');
  readonly getMediaMillisBehindNow = new Gauge(`${p}GetMedia_MillisBehindNow`, 'How far (server time, ms) the last fragment GetMedia sent is behind the newest stored one, by stream (CloudWatch GetMedia.MillisBehindNow).');
  readonly fragmentListOutgoingBytes = new Counter(`${p}GetMediaForFragmentList_OutgoingBytes`, 'Bytes sent by GetMediaForFragmentList, by stream (CloudWatch GetMediaForFragmentList.OutgoingBytes).');
  readonly fragmentListOutgoingFragments = new Counter(`${p}GetMediaForFragmentList_OutgoingFragments`, 'Fragments sent by GetMediaForFragmentList, by stream (CloudWatch GetMediaForFragmentList.OutgoingFragments).');
  /** Playback bytes by action: GetMP4MediaFragment, GetTSFragment (CloudWatch <action>.OutgoingBytes), GetMP4InitFragment, GetClip. */
  readonly playbackOutgoingBytes = new Counter(`${p}Playback_OutgoingBytes`, 'Bytes of segments and clips sent, by stream and action (CloudWatch GetMP4MediaFragment.OutgoingBytes, GetTSFragment.OutgoingBytes).');
  private readonly connections = new Map<string, number>();

  /** A PutMedia connection of `stream` opened (+1) or ended (-1). */
  putConnection(stream: string, delta: 1 | -1): void {
    const n = (this.connections.get(stream) ?? 0) + delta;
    if (n > 0) this.connections.set(stream, n);
    else this.connections.delete(stream);
  }

  /** The metrics page's video part; `streams` gives each stream's stored fragments (a gauge read at scrape time). */
  render(streams: Array<{ name: string; storedFragments: number }>): string {
    const active = new Gauge(`${p}PutMedia_ActiveConnections`, 'Open PutMedia connections, by stream (CloudWatch PutMedia.ActiveConnections).');
    for (const s of streams) active.set({ stream: s.name }, this.connections.get(s.name) ?? 0);
    const stored = new Gauge(`${p}StoredFragments`, 'Fragments the stream holds (retention drops them), by stream.');
    for (const s of streams) stored.set({ stream: s.name }, s.storedFragments);
    return [
      this.putIncomingBytes, this.putIncomingFragments, this.putIncomingFrames, this.putErrorAcks, this.putIngestionLatency, this.putPersistedAckLatency,
      active, this.getMediaOutgoingBytes, this.getMediaOutgoingFragments, this.getMediaMillisBehindNow, this.fragmentListOutgoingBytes,
      this.fragmentListOutgoingFragments, this.playbackOutgoingBytes, stored,
    ].map((m) => m.render()).join('');
  }
}
