/**
 * The local metadata store: one JSON document per name, replaced atomically
 * (write a temporary file, fsync, rename, fsync the directory), so a crash
 * leaves either the old document or the new one, never a mix.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { MetadataStore } from '../types.ts';
import { writeFileAtomic } from './segment.ts';

export class JsonFileStore<T> implements MetadataStore<T> {
  /** Saves run one at a time, in call order, so the last save called is the one left on disk. */
  private saving: Promise<void> = Promise.resolve();

  constructor(readonly file: string) {}

  async load(): Promise<T | undefined> {
    let text: string;
    try {
      text = await fsp.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new Error(`${this.file} is not valid JSON; restore it from a backup or remove it to start empty`, { cause: err });
    }
  }

  save(doc: T): Promise<void> {
    const text = JSON.stringify(doc, null, 1); // The document as it is now, not when its turn comes.
    const run = async () => {
      await fsp.mkdir(path.dirname(this.file), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.file, text);
    };
    const done = this.saving.then(run, run);
    this.saving = done.catch(() => {}); // A failed save is reported to its caller; the next one still runs.
    return done;
  }
}

/** Reads a secret file, creating it with `bytes` random bytes (mode 0600) the first time. */
export async function loadOrCreateSecret(file: string, bytes: number): Promise<Buffer> {
  try {
    const existing = await fsp.readFile(file);
    if (existing.length !== bytes) throw new Error(`${file} holds ${existing.length} bytes, expected ${bytes}`);
    return existing;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const { randomBytes } = await import('node:crypto');
  const secret = randomBytes(bytes);
  await fsp.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await writeFileAtomic(file, secret, 0o600);
  return secret;
}
