/**
 * A metadata document in JetStream KV. Every save is a compare-and-set on the
 * revision this store last read or wrote (`kv.update(key, value, revision)`;
 * `kv.create` for the first), so a save based on a stale document fails with
 * METADATA_CONFLICT instead of silently overwriting another process's change.
 * Saves of one store run one at a time in call order (the last one called
 * wins, as with the local store). A KV write is one replicated message, so a
 * crash leaves the old document or the new one, whole. Saving the document
 * this store last read or wrote, unchanged, writes nothing.
 *
 * `watch` keeps a process's copy live: every document another process
 * stores is handed to the listener (which brings the process's state in
 * line with it) in the same queue as this store's saves, and only then
 * becomes the revision the next save compares against. A save whose
 * document was taken before such a change was applied fails with
 * METADATA_CONFLICT rather than write the change away; `resync` then hands
 * the listener the stored document again, so that a change this process
 * made in memory but could not store is undone.
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
  /** Documents of other processes handed to the watch listener so far. */
  private applied = 0;
  private listener: ((doc: T | undefined) => Promise<void>) | undefined;
  private stopWatch: (() => void) | undefined;

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
    return this.parse(this.text);
  }

  private parse(text: string | undefined): T | undefined {
    if (text === undefined) return undefined;
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`NATS KV ${this.key} is not valid JSON`, { cause: err });
    }
  }

  /** Runs `job` after every save and watch step queued before it. */
  private enqueue(job: () => Promise<void>): Promise<void> {
    const done = this.saving.then(job, job);
    this.saving = done.catch(() => {});
    return done;
  }

  save(doc: T): Promise<void> {
    const text = JSON.stringify(doc); // The document as it is now, not when its turn comes.
    const epoch = this.applied;
    return this.enqueue(async () => {
      if (this.applied !== epoch) {
        throw new TributaryError('METADATA_CONFLICT', `another gateway process changed ${this.key} while this change was being made; try again`);
      }
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
          // Watched: the watch delivers the newer document and moves the revision. Not watched: the next
          // save compares against what is stored now (and overwrites what this process never saw).
          if (!this.listener) this.revision = undefined;
          throw new TributaryError('METADATA_CONFLICT', `another gateway process changed ${this.key} first; try again`, { cause: err });
        }
        throw err;
      }
    });
  }

  /**
   * Hands `listener` each document another process stores from now on (and
   * one stored since `load`), one at a time and in order with this store's
   * saves; undefined when the key was deleted.
   */
  async watch(listener: (doc: T | undefined) => Promise<void>, onError: (err: unknown) => void): Promise<void> {
    this.listener = listener;
    const it = await this.kv.watch({ key: this.key });
    this.stopWatch = () => it.stop();
    void (async () => {
      for await (const e of it) {
        const revision = e.revision;
        const text = e.operation === 'PUT' ? e.string() : undefined;
        void this.enqueue(async () => {
          // Our own saves, and what `load` already read, are known.
          if (this.revision !== undefined && revision <= this.revision) return;
          await this.apply(revision, text);
        }).catch(onError);
      }
    })().catch(onError);
  }

  /** Hands the listener the stored document again (after a failed save left this process's copy ahead of it). */
  resync(): Promise<void> {
    return this.enqueue(async () => {
      const e = await this.kv.get(this.key);
      await this.apply(e?.revision ?? 0, e?.operation === 'PUT' ? e.string() : undefined);
    });
  }

  private async apply(revision: number, text: string | undefined): Promise<void> {
    try {
      await this.listener?.(this.parse(text));
    } finally {
      // After the listener: a save whose document was taken while it ran did not see all of the change.
      this.applied++;
    }
    this.revision = revision;
    this.text = text;
  }

  stop(): void {
    this.stopWatch?.();
    this.listener = undefined;
  }
}
