// Checkpoints (SPRITES-API.md §7): real copies of a sprite's disk, and restores that swap the disk
// atomically. Layout under sprites/<name>/:
//   checkpoints/state.json        {"next": N, "active": "vK" | null}, written atomically
//   checkpoints/vK/checkpoint.json metadata; a checkpoint exists once its directory has this name
//   checkpoints/vK/fs/            the copy of the disk
//   checkpoints/.partial-*        a create in progress (discarded at startup)
//   checkpoints/.trash-*          a delete in progress (finished at startup)
//   fs.restore-new/               a restore's new disk being built beside fs/
//   restore.json                  written once fs.restore-new is complete: the commit point
//   fs.restore-old/               the previous disk, removed once the swap is recorded
// "Active" is the checkpoint the disk was last created from or restored to; it cannot be deleted.
import { lstat, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Checkpoint, StreamEvent } from '../protocol/messages.js';
import type { Engine } from './server.js';
import { HttpError } from './http.js';
import { syncDir, writeFileAtomic } from './fsutil.js';
import { copyTree, removeTree, scanTree, type CopyProgress } from './tree.js';

const ID_RE = /^(?:v(?:0|[1-9][0-9]{0,8})|auto-[0-9]{1,16})$/;
const META = 'checkpoint.json';
/** Longest comment kept with a checkpoint. */
export const MAX_COMMENT = 1024;
/** Progress events are sent at most this often (plus one at the end). */
const PROGRESS_INTERVAL_MS = 200;

interface CheckpointState {
  next: number;
  active: string | null;
}

type Emit = (event: StreamEvent) => void;

export function isCheckpointId(id: string): boolean {
  return ID_RE.test(id);
}

export class Checkpoints {
  /** One create/restore/delete at a time per sprite; later ones wait their turn. */
  private readonly locks = new Map<string, Promise<unknown>>();

  /** Sprites whose restore is stopping them right now (the stop hook must not wait for itself). */
  private readonly restoring = new Set<string>();

  constructor(private readonly engine: Engine) {}

  /**
   * Before a sprite is deleted, let its running checkpoint operation finish, so that no copy keeps
   * writing into (and re-creating) the directory of a deleted sprite.
   */
  async settle(name: string): Promise<void> {
    if (this.restoring.has(name)) return;
    await this.locks.get(name);
  }

  private async stopFor(name: string): Promise<void> {
    this.restoring.add(name);
    try {
      await this.engine.stopSprite(name);
    } finally {
      this.restoring.delete(name);
    }
  }

  private spriteDir(name: string): string {
    return this.engine.store.dirOf(name);
  }
  private dir(name: string): string {
    return join(this.spriteDir(name), 'checkpoints');
  }
  private stateFile(name: string): string {
    return join(this.dir(name), 'state.json');
  }
  private intentFile(name: string): string {
    return join(this.spriteDir(name), 'restore.json');
  }
  private stagingDir(name: string): string {
    return join(this.spriteDir(name), 'fs.restore-new');
  }
  private oldDir(name: string): string {
    return join(this.spriteDir(name), 'fs.restore-old');
  }

  private withLock<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return run;
  }

  private async readState(name: string): Promise<CheckpointState> {
    try {
      const raw = JSON.parse(await readFile(this.stateFile(name), 'utf8')) as Partial<CheckpointState>;
      return { next: typeof raw.next === 'number' ? raw.next : 0, active: typeof raw.active === 'string' ? raw.active : null };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { next: 0, active: null };
      throw err;
    }
  }

  private async writeState(name: string, state: CheckpointState): Promise<void> {
    await writeFileAtomic(this.stateFile(name), JSON.stringify(state) + '\n');
  }

  private async readMeta(name: string, id: string): Promise<Checkpoint | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir(name), id, META), 'utf8')) as Checkpoint;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  /** The sprite's checkpoints, oldest first, led by the pseudo entry `Current` when one is active. */
  async list(name: string): Promise<Checkpoint[]> {
    this.engine.store.require(name);
    const ids = await this.ids(name);
    const out: Checkpoint[] = [];
    for (const id of ids) {
      const meta = await this.readMeta(name, id);
      if (meta) out.push(meta);
    }
    const { active } = await this.readState(name);
    const current = active ? out.find((c) => c.id === active) : undefined;
    if (current) out.unshift({ id: 'Current', create_time: current.create_time, source_id: current.id });
    return out;
  }

  private async ids(name: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(this.dir(name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
    return names.filter(isCheckpointId).sort(compareIds);
  }

  async get(name: string, id: string): Promise<Checkpoint> {
    this.engine.store.require(name);
    const meta = isCheckpointId(id) ? await this.readMeta(name, id) : undefined;
    if (!meta) throw new HttpError(404, 'checkpoint_not_found', `sprite ${name} has no checkpoint ${id}`);
    return meta;
  }

  /** The chain of checkpoints `id` descends from, newest first (the `?history=` answer). */
  async history(name: string, id: string): Promise<string[]> {
    const chain: string[] = [];
    let cur: Checkpoint | undefined = await this.get(name, id);
    while (cur && !chain.includes(cur.id)) {
      chain.push(cur.id);
      cur = cur.source_id && isCheckpointId(cur.source_id) ? await this.readMeta(name, cur.source_id) : undefined;
    }
    return chain;
  }

  async remove(name: string, id: string): Promise<void> {
    await this.get(name, id);
    await this.withLock(name, async () => {
      await this.get(name, id);
      const { active } = await this.readState(name);
      if (active === id) {
        throw new HttpError(409, 'checkpoint_active', `${id} is the active checkpoint of ${name} (the one last created or restored) and cannot be deleted; create or restore another checkpoint first`);
      }
      const trash = join(this.dir(name), `.trash-${id}-${randomBytes(4).toString('hex')}`);
      await rename(join(this.dir(name), id), trash);
      await syncDir(this.dir(name));
      await removeTree(trash);
    });
  }

  async create(name: string, comment: string | undefined, emit: Emit): Promise<void> {
    await this.withLock(name, async () => {
      this.engine.store.require(name);
      const state = await this.readState(name);
      const id = `v${state.next}`;
      // Reserve the id first: a crash later never hands the same id out twice.
      await this.writeState(name, { ...state, next: state.next + 1 });
      const partial = join(this.dir(name), `.partial-${id}-${randomBytes(4).toString('hex')}`);
      try {
        emit(info(`Creating checkpoint ${id} of ${name}...`));
        await mkdir(partial, { recursive: true, mode: 0o700 });
        const src = this.engine.store.fsDirOf(name);
        const scanned = await scanTree(src);
        emit(info(`Copying ${describe(scanned.total)}`));
        const result = await copyTree(src, join(partial, 'fs'), scanned, throttled(emit));
        emit(info(`Copied ${describe(result.copied)}`));
        if (result.skipped.length) emit(warning(skippedMessage(result.skipped)));
        const meta: Checkpoint = {
          id,
          create_time: new Date().toISOString(),
          ...(state.active ? { source_id: state.active } : {}),
          ...(comment ? { comment } : {}),
        };
        await writeFileAtomic(join(partial, META), JSON.stringify(meta, null, 2) + '\n');
        this.engine.store.require(name);
        await rename(partial, join(this.dir(name), id));
        await syncDir(this.dir(name));
        await this.writeState(name, { next: state.next + 1, active: id });
        emit(complete(`Checkpoint ${id} created`));
      } catch (err) {
        await removeTree(partial).catch(() => {});
        throw err;
      }
    });
  }

  async restore(name: string, id: string, emit: Emit): Promise<void> {
    await this.withLock(name, async () => {
      await this.get(name, id);
      emit(info(`Restoring from checkpoint ${id}...`));
      await this.stopFor(name);
      await this.engine.driver.release(name);
      emit(info(`Stopped everything running in ${name}`));
      const staging = this.stagingDir(name);
      await removeTree(staging);
      const src = join(this.dir(name), id, 'fs');
      if (!(await exists(src))) throw new Error(`checkpoint ${id} of ${name} is damaged: its copy of the disk is missing`);
      const scanned = await scanTree(src);
      emit(info(`Copying ${describe(scanned.total)}`));
      try {
        const result = await copyTree(src, staging, scanned, throttled(emit));
        emit(info(`Copied ${describe(result.copied)}`));
        if (result.skipped.length) emit(warning(skippedMessage(result.skipped)));
        await writeFileAtomic(this.intentFile(name), JSON.stringify({ checkpoint: id }) + '\n');
      } catch (err) {
        // Nothing was committed: the sprite keeps its current disk.
        await removeTree(staging).catch(() => {});
        throw err;
      }
      // Anything started while the copy ran would be cut off by the swap: stop it now.
      await this.stopFor(name);
      try {
        await this.finishSwap(name, id);
      } catch (err) {
        // Committed: finish the swap the way startup recovery would, or leave that to the next start.
        await this.recover(name).catch(() => {});
        throw err;
      }
      emit(complete(`Restore from ${id} complete`));
    });
  }

  /** Move the staged disk into place and record it; safe to run again after a crash at any step. */
  private async finishSwap(name: string, id: string): Promise<void> {
    const fsDir = this.engine.store.fsDirOf(name);
    const staging = this.stagingDir(name);
    const old = this.oldDir(name);
    if (await exists(staging)) {
      if (await exists(fsDir)) {
        if (await exists(old)) await removeTree(fsDir);
        else await rename(fsDir, old);
      }
      await rename(staging, fsDir);
      await syncDir(this.spriteDir(name));
    }
    const state = await this.readState(name);
    await this.writeState(name, { ...state, active: id });
    await rm(this.intentFile(name), { force: true });
    await syncDir(this.spriteDir(name));
    await removeTree(old);
  }

  /** Startup recovery for one sprite: finish or roll back a restore, drop half-made checkpoints. */
  async recover(name: string): Promise<void> {
    let intent: { checkpoint?: unknown } | undefined;
    try {
      intent = JSON.parse(await readFile(this.intentFile(name), 'utf8')) as { checkpoint?: unknown };
    } catch {
      intent = undefined;
    }
    if (intent && typeof intent.checkpoint === 'string' && isCheckpointId(intent.checkpoint)) {
      await this.finishSwap(name, intent.checkpoint);
    } else {
      await rm(this.intentFile(name), { force: true });
      await removeTree(this.stagingDir(name));
      const fsDir = this.engine.store.fsDirOf(name);
      if (!(await exists(fsDir)) && (await exists(this.oldDir(name)))) await rename(this.oldDir(name), fsDir);
      await removeTree(this.oldDir(name));
    }
    // Temp files of atomic writes cut short (sprite.json, state.json, restore.json, policies).
    for (const dir of [this.spriteDir(name), this.dir(name), join(this.spriteDir(name), 'policy')]) {
      await removeAtomicTemps(dir);
    }
    let names: string[] = [];
    try {
      names = await readdir(this.dir(name));
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith('.partial-') || n.startsWith('.trash-')) await removeTree(join(this.dir(name), n));
    }
    // Never reuse an id that a surviving checkpoint holds.
    const state = await this.readState(name);
    const highest = Math.max(-1, ...names.filter((n) => /^v[0-9]+$/.test(n)).map((n) => Number(n.slice(1))));
    const active = state.active && (await exists(join(this.dir(name), state.active, META))) ? state.active : null;
    if (highest >= state.next || active !== state.active) await this.writeState(name, { next: Math.max(state.next, highest + 1), active });
  }
}

/** writeFileAtomic's temp files are `.<name>.<hex>.tmp`. */
async function removeAtomicTemps(dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) if (/^\..+\.[0-9a-f]{12}\.tmp$/.test(n)) await rm(join(dir, n), { force: true });
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

function compareIds(a: string, b: string): number {
  const na = a.startsWith('v') ? Number(a.slice(1)) : Number.MAX_SAFE_INTEGER;
  const nb = b.startsWith('v') ? Number(b.slice(1)) : Number.MAX_SAFE_INTEGER;
  return na - nb || (a < b ? -1 : a > b ? 1 : 0);
}

function now(): string {
  return new Date().toISOString();
}
function info(data: string): StreamEvent {
  return { type: 'info', data, time: now() };
}
function warning(data: string): StreamEvent {
  return { type: 'warning', data, time: now() };
}
function complete(data: string): StreamEvent {
  return { type: 'complete', data, time: now() };
}

function describe(t: { files: number; bytes: number }): string {
  return `${t.files} file${t.files === 1 ? '' : 's'} (${mib(t.bytes)} MiB)`;
}

function mib(bytes: number): string {
  return (bytes / (1024 * 1024)).toFixed(1);
}

function skippedMessage(skipped: string[]): string {
  const shown = skipped.slice(0, 5).join(', ');
  return `skipped ${skipped.length} entr${skipped.length === 1 ? 'y' : 'ies'} that are not regular files, directories or symlinks, or that vanished while copying: ${shown}${skipped.length > 5 ? ', …' : ''}`;
}

/** Progress as info events, at most one per interval. */
function throttled(emit: Emit): (p: CopyProgress) => void {
  let last = 0;
  return ({ done, total }) => {
    const t = Date.now();
    if (t - last < PROGRESS_INTERVAL_MS) return;
    last = t;
    emit(info(`Copied ${done.files}/${total.files} files (${mib(done.bytes)}/${mib(total.bytes)} MiB)`));
  };
}
