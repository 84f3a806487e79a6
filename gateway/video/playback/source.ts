/**
 * What playback needs from the video store, as narrow interfaces: the
 * fragment log of gateway/storage/types.ts satisfies `FragmentIndex`
 * structurally, and the video stream registry satisfies `PlaybackStreams`.
 * Playback reads; it never writes or trims.
 */

export type SelectorType = 'PRODUCER_TIMESTAMP' | 'SERVER_TIMESTAMP';

/** ListFragments' Fragment, timestamps in epoch milliseconds. */
export interface FragmentMeta {
  FragmentNumber: string;
  ProducerTimestamp: number;
  ServerTimestamp: number;
  FragmentLengthInMilliseconds: number;
  FragmentSizeInBytes: number;
}

/** A fragment's media: `header` (EBML, Segment, Info, Tracks) then `cluster` is a complete MKV document. */
export interface FragmentMedia {
  meta: FragmentMeta;
  header: Uint8Array;
  cluster: Uint8Array;
}

export interface FragmentIndex {
  /** Visible fragments, oldest (first ingested) first. */
  list(): readonly FragmentMeta[];
  find(fragmentNumber: string): FragmentMeta | undefined;
  /** Fragments whose timestamp of `kind` lies in [startMs, endMs], oldest first. */
  range(kind: SelectorType, startMs: number, endMs: number): FragmentMeta[];
  read(fragmentNumber: string): Promise<FragmentMedia | undefined>;
}

export interface PlaybackStream {
  name: string;
  arn: string;
  dataRetentionInHours: number;
  fragments: FragmentIndex;
}

export interface PlaybackStreams {
  /** The stream named by StreamName or StreamARN; throws the AWS error (ResourceNotFoundException, InvalidArgumentException) otherwise. */
  resolve(input: { StreamName?: string; StreamARN?: string }): PlaybackStream;
  /** The stream behind an ARN, or undefined once it was deleted (sessions die with their stream). */
  byArn(arn: string): PlaybackStream | undefined;
}
