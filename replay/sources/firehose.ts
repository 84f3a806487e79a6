import { TributaryError } from '../../sdk/protocol/errors.ts';
import type { OpenOptions } from '../open.ts';
import type { ReplaySource } from '../types.ts';

export class FirehoseSource {
  static open(_location: string, _o: OpenOptions, _saved: unknown): ReplaySource {
    throw new TributaryError('REPLAY_SOURCE_UNSUPPORTED', 'Firehose object sources are not available yet');
  }
}
