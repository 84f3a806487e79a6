/**
 * Kinesis Video Streams archived-media limits that playback enforces. Each
 * cites the AWS page it comes from: the API reference (docs.aws.amazon.com/
 * kinesisvideostreams/latest/dg/API_Operations_Amazon_Kinesis_Video_Streams_Archived_Media.html)
 * and the service quotas page (kinesisvideostreams/latest/dg/limits.html).
 */
import assert from 'node:assert';

/** GetHLSStreamingSessionURL / GetDASHStreamingSessionURL, Expires: 300 (5 minutes) to 43200 (12 hours); default 300. */
export const sessionExpiresSecondsMin = 300;
export const sessionExpiresSecondsMax = 43_200;
export const sessionExpiresSecondsDefault = 300;

/** MaxMediaPlaylistFragmentResults / MaxManifestFragmentResults: 1 to 5000; default 5 (LIVE, LIVE_REPLAY) or 1000 (ON_DEMAND). */
export const playlistFragmentsMax = 5000;
export const playlistFragmentsLiveDefault = 5;
export const playlistFragmentsOnDemandDefault = 1000;

/** HLSTimestampRange / ClipTimestampRange: EndTimestamp within 24 hours of StartTimestamp. */
export const timestampRangeMsMax = 24 * 3600 * 1000;

/** ResourceNotFoundException: a LIVE session needs a fragment within the last 30 seconds. */
export const liveWindowMs = 30_000;

/** DiscontinuityMode ON_DISCONTINUITY: a gap or overlap of more than 50 milliseconds between fragments. */
export const discontinuityGapMsMax = 50;

/** GetClip output: the first 100 MB or the first 200 fragments from the start timestamp. */
export const clipBytesMax = 100 * 1024 * 1024;
export const clipFragmentsMax = 200;

/** GetImages: range at most 300 s, SamplingInterval at least 200 ms, pages of at most 25 images (MaxResults 1-100). */
export const imagesRangeMsMax = 300_000;
export const imagesSamplingIntervalMsMin = 200;
export const imagesPageMax = 25;
export const imagesMaxResultsMax = 100;
/** GetImages WidthPixels 1-3840, HeightPixels 1-2160; FormatConfig JPEGQuality 1-100, default 80. */
export const imageWidthPixelsMax = 3840;
export const imageHeightPixelsMax = 2160;
export const jpegQualityDefault = 80;
/** GetImages ImageContent: at most 6291456 characters of base64. */
export const imageContentCharsMax = 6_291_456;

/** HLS sessions: at most 500 codec private data changes per session (AWS's note on in-track CPD changes). */
export const sessionCodecChangesMax = 500;

assert(sessionExpiresSecondsMin <= sessionExpiresSecondsDefault && sessionExpiresSecondsDefault <= sessionExpiresSecondsMax);
assert(playlistFragmentsLiveDefault <= playlistFragmentsOnDemandDefault && playlistFragmentsOnDemandDefault <= playlistFragmentsMax);
assert(imagesPageMax <= imagesMaxResultsMax);
