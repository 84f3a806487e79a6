/**
 * An action's answer that is a stream of frames rather than one body
 * (SubscribeToShard). The front door writes the frames as they come, with
 * backpressure, as `application/vnd.amazon.eventstream`, and cancels the
 * source when the client goes away.
 */
export const contentTypeEventStream = 'application/vnd.amazon.eventstream';

export class EventStreamReply {
  constructor(
    /** Encoded event-stream messages; the response ends when the iterable does. */
    readonly frames: AsyncIterable<Uint8Array>,
    private readonly controller: AbortController,
  ) {}

  /** Stops the source (client gone, gateway closing); the iterable then finishes. */
  cancel(): void {
    this.controller.abort();
  }
}
