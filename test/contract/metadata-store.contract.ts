/**
 * The metadata-store contract: what every backend of `MetadataStore`
 * (gateway/storage/types.ts) must do, run against each backend
 * (`metadataStoreContract(backend)` from a *.test.ts file): empty until
 * saved, a save replaces the whole document, and a writer killed with SIGKILL
 * leaves an acknowledged document or a later one, whole, never a mix.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { metadataDoc, type StorageBackend } from './backend.ts';
import { killWriterAfter } from './shard-log.contract.ts';

export function metadataStoreContract(backend: StorageBackend): void {
  describe(`metadata store contract: ${backend.name}`, () => {
    afterAll(() => backend.cleanup());

    it('is empty until saved, then returns exactly the last document saved, across reopening', async () => {
      const location = await backend.newLocation();
      const store = await backend.openMetadataStore(location);
      expect(await store.load()).toBeUndefined();
      const first = { streams: [{ name: 'a', shards: [1, 2, 3] }], note: 'ünïcödé and "quotes"' };
      await store.save(first);
      expect(await store.load()).toEqual(first);
      const second = { streams: [] };
      await store.save(second);
      expect(await store.load()).toEqual(second);
      expect(await (await backend.openMetadataStore(location)).load()).toEqual(second);
    });

    it('keeps saves in order when they overlap', async () => {
      const location = await backend.newLocation();
      const store = await backend.openMetadataStore(location);
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.save(metadataDoc(i + 1))));
      expect(await store.load()).toEqual(metadataDoc(20));
    });

    it('leaves an acknowledged or later document, whole, when the writer is killed with SIGKILL', async () => {
      for (let round = 0; round < 3; round++) {
        const location = await backend.newLocation();
        const acked = await killWriterAfter(backend, 'metadata', location, 5 + round * 7);
        const lastAcked = Math.max(...acked.map(([v]) => v));
        const doc = (await (await backend.openMetadataStore(location)).load()) as { version: number };
        expect(doc.version).toBeGreaterThanOrEqual(lastAcked);
        expect(doc).toEqual(metadataDoc(doc.version));
      }
    }, 60_000);
  });
}
