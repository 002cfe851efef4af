// Durable sprite records. Layout under the data dir:
//   sprites/<name>/sprite.json   metadata, written atomically
//   sprites/<name>/fs/           the sprite's disk; fs/home/sprite is its commands' home
//   trash/                       directories being deleted (a crash mid-delete leaves them here)
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import type { CreateSpriteRequest, Sprite, UpdateSpriteRequest } from '../protocol/messages.js';
import { writeFileAtomic } from './fsutil.js';

const META = 'sprite.json';

export class StoreError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class SpriteStore {
  private readonly sprites = new Map<string, Sprite>();
  /** Names being created right now, so two concurrent creates of one name cannot both win. */
  private readonly pending = new Set<string>();
  /** Run for each sprite at load, before the engine serves it: features finish their half-done work. */
  private readonly recoverers: Array<(name: string) => Promise<void>> = [];

  constructor(readonly dataDir: string) {}

  get spritesDir(): string {
    return join(this.dataDir, 'sprites');
  }

  dirOf(name: string): string {
    return join(this.spritesDir, name);
  }

  /**
   * The sprite's disk: everything the sprite writes. Checkpoints copy it; the sandbox driver uses it
   * as the writable layer over the host's root. It holds home/sprite, the home of its commands.
   */
  fsDirOf(name: string): string {
    return join(this.dirOf(name), 'fs');
  }

  /** The home and default working directory of the sprite's commands, as a host path. */
  homeDirOf(name: string): string {
    return join(this.fsDirOf(name), 'home', 'sprite');
  }

  /** Register crash recovery for a feature's per-sprite state (checkpoints, restores). */
  onLoadSprite(fn: (name: string) => Promise<void>): void {
    this.recoverers.push(fn);
  }

  /** Load every sprite; finish or discard what a crash left half done. */
  async load(): Promise<void> {
    await mkdir(this.spritesDir, { recursive: true, mode: 0o700 });
    await rm(join(this.dataDir, 'trash'), { recursive: true, force: true });
    for (const entry of await readdir(this.spritesDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = this.dirOf(entry.name);
      let raw: string;
      try {
        raw = await readFile(join(dir, META), 'utf8');
      } catch {
        // A create that died before its metadata was written: it never existed.
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      try {
        const sprite = JSON.parse(raw) as Sprite;
        if (sprite.name === entry.name) this.sprites.set(sprite.name, sprite);
      } catch (err) {
        throw new Error(`sprite metadata ${join(dir, META)} is corrupt: ${(err as Error).message}`);
      }
      if (this.sprites.has(entry.name)) for (const recover of this.recoverers) await recover(entry.name);
    }
  }

  list(): Sprite[] {
    return [...this.sprites.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  get(name: string): Sprite | undefined {
    return this.sprites.get(name);
  }

  require(name: string): Sprite {
    const sprite = this.sprites.get(name);
    if (!sprite) throw new StoreError(404, 'sprite_not_found', `no sprite named ${name}`);
    return sprite;
  }

  async create(req: CreateSpriteRequest): Promise<Sprite> {
    const name = req.name;
    if (this.sprites.has(name) || this.pending.has(name)) {
      throw new StoreError(400, 'sprite_already_exists', `a sprite named ${name} already exists`);
    }
    this.pending.add(name);
    try {
      const now = new Date().toISOString();
      const sprite: Sprite = {
        id: `sprite-${randomUUID()}`,
        name,
        organization: 'local',
        status: 'cold',
        config: { ram_mb: 1024, cpus: 1, region: 'local', storage_gb: 10, ...req.config },
        environment: req.environment ?? {},
        created_at: now,
        updated_at: now,
        url_settings: { auth: 'sprite', ...req.url_settings },
        labels: req.labels ?? [],
        last_running_at: null,
        last_warming_at: null,
        version: 'local',
        primary_region: 'local',
      };
      await mkdir(this.homeDirOf(name), { recursive: true, mode: 0o755 });
      await this.writeMeta(sprite);
      this.sprites.set(name, sprite);
      return sprite;
    } finally {
      this.pending.delete(name);
    }
  }

  async update(name: string, req: UpdateSpriteRequest): Promise<Sprite> {
    const current = this.require(name);
    const next: Sprite = {
      ...current,
      ...(req.labels !== undefined ? { labels: req.labels } : {}),
      ...(req.url_settings !== undefined ? { url_settings: { ...current.url_settings, ...req.url_settings } } : {}),
      updated_at: new Date().toISOString(),
    };
    try {
      await this.writeMeta(next);
    } catch (err) {
      // Deleted while this update was in flight: its directory is gone.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new StoreError(404, 'sprite_not_found', `no sprite named ${name}`);
      throw err;
    }
    if (!this.sprites.has(name)) throw new StoreError(404, 'sprite_not_found', `no sprite named ${name}`);
    this.sprites.set(name, next);
    return next;
  }

  /** Record a status change (running while sessions run, cold otherwise); kept in memory only. */
  setStatus(name: string, status: Sprite['status']): void {
    const sprite = this.sprites.get(name);
    if (!sprite || sprite.status === status) return;
    const now = new Date().toISOString();
    this.sprites.set(name, { ...sprite, status, ...(status === 'running' ? { last_running_at: now } : {}) });
  }

  async delete(name: string): Promise<void> {
    this.require(name);
    this.sprites.delete(name);
    const trash = join(this.dataDir, 'trash');
    await mkdir(trash, { recursive: true });
    // Rename first: the sprite is gone atomically even if the engine dies during the removal.
    const target = join(trash, `${name}-${randomBytes(4).toString('hex')}`);
    await rename(this.dirOf(name), target);
    await rm(target, { recursive: true, force: true });
  }

  private async writeMeta(sprite: Sprite): Promise<void> {
    // Never create the directory here: an update racing a delete must not bring the sprite back.
    await writeFileAtomic(join(this.dirOf(sprite.name), META), JSON.stringify(sprite, null, 2) + '\n', 0o600, false);
  }
}
