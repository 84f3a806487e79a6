import { TributaryError } from '../../sdk/protocol/errors.ts';
import type { OpenOptions } from '../open.ts';
import type { ReplaySource, SourceItem } from '../types.ts';

export class AgentBufferSource implements ReplaySource {
  readonly description = 'agent buffer';
  readonly state = null;
  readonly totalBytes = undefined;
  readonly bytesRead = 0;
  constructor(_dir: string, _o: OpenOptions) {
    throw new TributaryError('REPLAY_SOURCE_UNSUPPORTED', 'agent buffer sources are not available yet');
  }
  // eslint-disable-next-line require-yield
  async *items(): AsyncGenerator<SourceItem> {}
}
