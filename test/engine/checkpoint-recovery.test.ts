// Crash safety: half-written checkpoint and restore state left on disk is finished or rolled back
// at startup, and an engine killed with SIGKILL mid-restore or mid-checkpoint leaves a usable sprite
// holding either its old or its new disk, never a mix, and every completed checkpoint.
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { engineFetch, isolatedEnv, startEngine, type TestEngine } from '../helpers/cli.js';

const base = isolatedEnv();
let engine: (TestEngine & { cleanup(): void }) | undefined;

afterAll(async () => {
  await engine?.kill();
  base.cleanup();
});

async function restart(): Promise<TestEngine> {
  await engine?.stop();
  engine = await startEngine(base);
  return engine;
}

const spriteDir = (e: TestEngine, name: string) => join(e.dataDir, 'sprites', name);
const home = (e: TestEngine, name: string) => join(spriteDir(e, name), 'fs', 'home', 'sprite');

async function createSprite(e: TestEngine, name: string): Promise<void> {
  const res = await engineFetch(e, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name }) });
  expect(res.status).toBe(201);
}

async function lastEvent(res: Response): Promise<{ type: string; data?: string }> {
  const lines = (await res.text()).trim().split('\n');
  return JSON.parse(lines.at(-1)!) as { type: string; data?: string };
}

async function checkpoint(e: TestEngine, name: string): Promise<string> {
  const last = await lastEvent(await engineFetch(e, `/v1/sprites/${name}/checkpoint`, { method: 'POST' }));
  expect(last.type).toBe('complete');
  return last.data!;
}

async function listIds(e: TestEngine, name: string): Promise<{ ids: string[]; current?: string }> {
  const list = (await (await engineFetch(e, `/v1/sprites/${name}/checkpoints`)).json()) as Array<{ id: string; source_id?: string }>;
  return { ids: list.filter((c) => c.id !== 'Current').map((c) => c.id), current: list.find((c) => c.id === 'Current')?.source_id };
}

/** Send a streaming request and resolve once an event matches, leaving the stream open. */
async function streamUntil(e: TestEngine, path: string, match: RegExp): Promise<void> {
  const res = await engineFetch(e, path, { method: 'POST' });
  const reader = res.body!.getReader();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before ${match}: ${text}`);
    text += Buffer.from(value).toString();
    if (match.test(text)) return;
  }
}

/**
 * Asynchronous on purpose: blocking the event loop longer than the engine's keep-alive timeout
 * would let fetch reuse a socket the engine has already closed.
 */
async function writeMany(dir: string, count: number, content: string): Promise<void> {
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${i % 50}`);
    await mkdir(sub, { recursive: true });
    await writeFile(join(sub, `f${i}`), content);
  }
}

/** Content of every file under dir, as one set (a mix of old and new shows up as two values). */
function contents(dir: string): Set<string> {
  const seen = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) seen.add(readFileSync(join(entry.parentPath, entry.name), 'utf8'));
  }
  return seen;
}

describe('startup recovery of half-written state', () => {
  it('rolls back, rolls forward or cleans up each crash point', async () => {
    let e = await restart();
    for (const n of ['rec-build', 'rec-between', 'rec-after', 'rec-partial']) {
      await createSprite(e, n);
      writeFileSync(join(home(e, n), 'file'), 'v0');
      await checkpoint(e, n);
      writeFileSync(join(home(e, n), 'file'), 'current');
      writeFileSync(join(home(e, n), 'added'), 'current');
    }
    await checkpoint(e, 'rec-partial');
    await engine!.kill();

    // Crash while the new disk was being built: no commit record, so the old disk stays.
    const build = spriteDir(e, 'rec-build');
    mkdirSync(join(build, 'fs.restore-new', 'home'), { recursive: true });
    // Crash between the two renames: committed, fs/ already moved aside, so roll forward.
    const between = spriteDir(e, 'rec-between');
    cpSync(join(between, 'checkpoints', 'v0', 'fs'), join(between, 'fs.restore-new'), { recursive: true });
    writeFileSync(join(between, 'restore.json'), JSON.stringify({ checkpoint: 'v0' }));
    renameSync(join(between, 'fs'), join(between, 'fs.restore-old'));
    // Crash after the swap, before the old disk was removed and the record cleared.
    const after = spriteDir(e, 'rec-after');
    renameSync(join(after, 'fs'), join(after, 'fs.restore-old'));
    cpSync(join(after, 'checkpoints', 'v0', 'fs'), join(after, 'fs'), { recursive: true });
    writeFileSync(join(after, 'restore.json'), JSON.stringify({ checkpoint: 'v0' }));
    // A checkpoint create and a delete cut short, and an id counter that fell behind.
    const partial = spriteDir(e, 'rec-partial');
    mkdirSync(join(partial, 'checkpoints', '.partial-v2-0badc0de', 'fs'), { recursive: true });
    mkdirSync(join(partial, 'checkpoints', '.trash-v9-0badc0de', 'fs'), { recursive: true });
    writeFileSync(join(partial, 'checkpoints', 'state.json'), JSON.stringify({ next: 0, active: 'v1' }));
    // Atomic writes cut before their rename leave temp files behind.
    writeFileSync(join(partial, '.sprite.json.0123456789ab.tmp'), '{"trunc');
    writeFileSync(join(partial, 'checkpoints', '.state.json.0123456789ab.tmp'), '');
    // A sprite create that died before its metadata was written never existed.
    mkdirSync(join(e.dataDir, 'sprites', 'rec-unborn', 'fs', 'home', 'sprite'), { recursive: true });

    e = await restart();
    const leftovers = ['fs.restore-new', 'fs.restore-old', 'restore.json'];
    for (const n of ['rec-build', 'rec-between', 'rec-after']) {
      expect(readdirSync(spriteDir(e, n)).filter((f) => leftovers.includes(f)), n).toEqual([]);
    }
    expect(readFileSync(join(home(e, 'rec-build'), 'file'), 'utf8')).toBe('current');
    expect(existsSync(join(home(e, 'rec-build'), 'added'))).toBe(true);
    for (const n of ['rec-between', 'rec-after']) {
      expect(readFileSync(join(home(e, n), 'file'), 'utf8'), n).toBe('v0');
      expect(existsSync(join(home(e, n), 'added')), n).toBe(false);
      expect((await listIds(e, n)).current, n).toBe('v0');
    }
    expect(readdirSync(join(partial, 'checkpoints')).sort()).toEqual(['state.json', 'v0', 'v1']);
    expect(readdirSync(partial).sort()).toEqual(['checkpoints', 'fs', 'sprite.json']);
    expect(await listIds(e, 'rec-partial')).toEqual({ ids: ['v0', 'v1'], current: 'v1' });
    expect(await checkpoint(e, 'rec-partial')).toBe('Checkpoint v2 created');
    expect(existsSync(join(e.dataDir, 'sprites', 'rec-unborn'))).toBe(false);
    expect((await engineFetch(e, '/v1/sprites/rec-unborn')).status).toBe(404);
  });
});

describe('SIGKILL of the engine', () => {
  it('during a restore leaves a usable sprite with the old or the new disk, never a mix', async () => {
    let e = await restart();
    await createSprite(e, 'kill-restore');
    await writeMany(home(e, 'kill-restore'), 1500, 'old');
    await checkpoint(e, 'kill-restore');
    await writeMany(home(e, 'kill-restore'), 1500, 'new');
    writeFileSync(join(home(e, 'kill-restore'), 'extra'), 'new');

    await streamUntil(e, '/v1/sprites/kill-restore/checkpoints/v0/restore', /"Copied \d+\/1500 files/);
    await engine!.kill();

    e = await restart();
    const seen = contents(home(e, 'kill-restore'));
    expect(seen.size).toBe(1);
    const state = [...seen][0];
    expect(existsSync(join(home(e, 'kill-restore'), 'extra'))).toBe(state === 'new');
    expect(readdirSync(spriteDir(e, 'kill-restore')).sort()).toEqual(['checkpoints', 'fs', 'sprite.json']);
    // Usable: it answers, checkpoints, and restores completely.
    expect((await engineFetch(e, '/v1/sprites/kill-restore')).status).toBe(200);
    expect(await checkpoint(e, 'kill-restore')).toBe('Checkpoint v1 created');
    const done = await lastEvent(await engineFetch(e, '/v1/sprites/kill-restore/checkpoints/v0/restore', { method: 'POST' }));
    expect(done).toMatchObject({ type: 'complete', data: 'Restore from v0 complete' });
    expect(contents(home(e, 'kill-restore'))).toEqual(new Set(['old']));
  });

  it('during a checkpoint loses no completed checkpoint and leaves no half-made one', async () => {
    let e = await restart();
    await createSprite(e, 'kill-create');
    writeFileSync(join(home(e, 'kill-create'), 'first'), 'v0');
    await checkpoint(e, 'kill-create');
    await writeMany(home(e, 'kill-create'), 1500, 'later');

    await streamUntil(e, '/v1/sprites/kill-create/checkpoint', /"Copied \d+\/1501 files/);
    await engine!.kill();

    e = await restart();
    const { ids } = await listIds(e, 'kill-create');
    expect(ids[0]).toBe('v0');
    expect(ids.length === 1 || (ids.length === 2 && ids[1] === 'v1')).toBe(true);
    expect(readdirSync(join(spriteDir(e, 'kill-create'), 'checkpoints')).filter((n) => n.startsWith('.'))).toEqual([]);
    // v1 was reserved when the killed create began: it is never handed out twice.
    expect(await checkpoint(e, 'kill-create')).toBe('Checkpoint v2 created');
    const v0 = await lastEvent(await engineFetch(e, '/v1/sprites/kill-create/checkpoints/v0/restore', { method: 'POST' }));
    expect(v0.type).toBe('complete');
    expect(readdirSync(home(e, 'kill-create'))).toEqual(['first']);
  });
});
