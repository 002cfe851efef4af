// Durable policy documents of a sprite (SPRITES-API.md §8), one file each under
// sprites/<name>/policy/, written atomically. Stored and returned only: the host driver enforces
// none of them (the sandbox driver reads them from here once it enforces them).
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SpriteStore } from './store.js';
import { writeFileAtomic } from './fsutil.js';

export type PolicyKind = 'network' | 'privileges' | 'resources';

/** What GET answers when nothing was set (or after DELETE). */
const DEFAULTS: Record<PolicyKind, unknown> = { network: { rules: [] }, privileges: {}, resources: {} };

export class PolicyStore {
  constructor(private readonly store: SpriteStore) {}

  private file(name: string, kind: PolicyKind): string {
    return join(this.store.dirOf(name), 'policy', `${kind}.json`);
  }

  async get(name: string, kind: PolicyKind): Promise<unknown> {
    this.store.require(name);
    try {
      return JSON.parse(await readFile(this.file(name, kind), 'utf8')) as unknown;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return structuredClone(DEFAULTS[kind]);
      throw err;
    }
  }

  /** Replace the document; the caller has validated it. */
  async set(name: string, kind: PolicyKind, doc: unknown): Promise<void> {
    this.store.require(name);
    await writeFileAtomic(this.file(name, kind), JSON.stringify(doc, null, 2) + '\n');
  }

  async reset(name: string, kind: PolicyKind): Promise<void> {
    this.store.require(name);
    await rm(this.file(name, kind), { force: true });
  }
}
