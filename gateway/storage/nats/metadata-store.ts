/**
 * A metadata document in JetStream KV. Every save is a compare-and-set on the
 * revision this store last read or wrote (`kv.update(key, value, revision)`;
 * `kv.create` for the first), so a save based on a stale document fails with
 * METADATA_CONFLICT instead of silently overwriting another process's change.
 * Saves of one store run one at a time in call order (the last one called
 * wins, as with the local store). A KV write is one replicated message, so a
 * crash leaves the old document or the new one, whole. Saving the document
 * this store last read or wrote, unchanged, writes nothing.
 */
import type { KV } from '@nats-io/kv';
import { TributaryError } from '../../../sdk/protocol/errors.ts';
import type { MetadataStore } from '../types.ts';

export class KvMetadataStore<T> implements MetadataStore<T> {
  /** The revision this store last saw (0: the key did not exist); undefined until read. */
  private revision: number | undefined;
  /** The text stored at `revision`, so that saving an unchanged document writes nothing (several processes open the same documents). */
  private text: string | undefined;
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly kv: KV,
    readonly key: string,
  ) {}

  async load(): Promise<T | undefined> {
    const e = await this.kv.get(this.key);
    if (!e || e.operation !== 'PUT') {
      this.revision = e?.revision ?? 0;
      this.text = undefined;
      return undefined;
    }
    this.revision = e.revision;
    this.text = e.string();
    try {
      return JSON.parse(this.text) as T;
    } catch (err) {
      throw new Error(`NATS KV ${this.key} is not valid JSON`, { cause: err });
    }
  }

  save(doc: T): Promise<void> {
    const text = JSON.stringify(doc); // The document as it is now, not when its turn comes.
    const run = async () => {
      if (this.revision === undefined) {
        const e = await this.kv.get(this.key);
        this.revision = e?.revision ?? 0;
        this.text = e?.operation === 'PUT' ? e.string() : undefined;
      }
      if (text === this.text) return;
      try {
        this.revision = this.revision === 0 ? await this.kv.create(this.key, text) : await this.kv.update(this.key, text, this.revision);
        this.text = text;
      } catch (err) {
        if (/wrong last sequence|key exists/i.test(String((err as Error).message))) {
          this.revision = undefined; // the next save compares against what is stored now
          throw new TributaryError('METADATA_CONFLICT', `another gateway process changed ${this.key} first`, { cause: err });
        }
        throw err;
      }
    };
    const done = this.saving.then(run, run);
    this.saving = done.catch(() => {});
    return done;
  }
}
