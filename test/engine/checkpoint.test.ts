// Checkpoints on a real engine subprocess: real copies, restores that put back exactly the
// checkpointed tree, ids, deletes, and the per-sprite boundaries.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { engineFetch, startEngine, type TestEngine } from '../helpers/cli.js';

let engine: TestEngine & { cleanup(): void };

beforeAll(async () => {
  engine = await startEngine();
});
afterAll(async () => {
  await engine?.stop();
  engine?.cleanup();
});

const home = (name: string) => join(engine.dataDir, 'sprites', name, 'fs', 'home', 'sprite');

async function createSprite(name: string): Promise<void> {
  const res = await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name }), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(201);
}

interface Event {
  type: string;
  data?: string;
  error?: string;
  time: string;
}

async function events(res: Response): Promise<Event[]> {
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/x-ndjson');
  const text = await res.text();
  return text.trim().split('\n').map((l) => JSON.parse(l) as Event);
}

async function checkpoint(name: string, comment?: string): Promise<Event[]> {
  return events(await engineFetch(engine, `/v1/sprites/${name}/checkpoint`, { method: 'POST', body: JSON.stringify(comment ? { comment } : {}) }));
}

async function restore(name: string, id: string): Promise<Event[]> {
  return events(await engineFetch(engine, `/v1/sprites/${name}/checkpoints/${id}/restore`, { method: 'POST' }));
}

/** A request with the path sent byte for byte (fetch would resolve `..` before sending). */
function rawStatus(method: string, path: string): Promise<number> {
  const url = new URL(engine.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, method, path, headers: { authorization: `Bearer ${engine.token}` } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every path under dir with its kind and content (links by target), for exact tree comparison. */
function snapshot(dir: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = join(rel, name);
    const st = lstatSync(join(dir, p));
    if (st.isSymbolicLink()) out[p] = `link:${readlinkSync(join(dir, p))}`;
    else if (st.isDirectory()) {
      out[p] = `dir:${(st.mode & 0o777).toString(8)}`;
      Object.assign(out, snapshot(dir, p));
    } else out[p] = `file:${(st.mode & 0o777).toString(8)}:${readFileSync(join(dir, p), 'utf8')}`;
  }
  return out;
}

describe('checkpoint and restore', () => {
  it('restores the original content, modes and links, and no extra file', async () => {
    await createSprite('cp-basic');
    const h = home('cp-basic');
    mkdirSync(join(h, 'src/deep'), { recursive: true });
    writeFileSync(join(h, 'a.txt'), 'alpha\n');
    writeFileSync(join(h, 'src/deep/b.txt'), 'beta\n');
    writeFileSync(join(h, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    symlinkSync('src/deep/b.txt', join(h, 'link'));
    const before = snapshot(h);

    const created = await checkpoint('cp-basic', 'first one');
    expect(created.at(-1)).toMatchObject({ type: 'complete', data: 'Checkpoint v0 created' });
    expect(created.some((e) => e.type === 'info' && /3 files/.test(e.data!))).toBe(true);
    expect(created.every((e) => typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time)))).toBe(true);

    writeFileSync(join(h, 'a.txt'), 'changed\n');
    rmSync(join(h, 'src/deep/b.txt'));
    writeFileSync(join(h, 'extra.txt'), 'should vanish\n');
    chmodSync(join(h, 'run.sh'), 0o600);
    mkdirSync(join(h, 'newdir'));

    const restored = await restore('cp-basic', 'v0');
    expect(restored[0]).toMatchObject({ type: 'info', data: 'Restoring from checkpoint v0...' });
    expect(restored.at(-1)).toMatchObject({ type: 'complete', data: 'Restore from v0 complete' });
    expect(snapshot(h)).toEqual(before);
    // Nothing of the swap is left beside the disk.
    expect(readdirSync(join(engine.dataDir, 'sprites', 'cp-basic')).sort()).toEqual(['checkpoints', 'fs', 'sprite.json']);
  });

  it('numbers checkpoints v0, v1, … and records comment, time and source', async () => {
    await createSprite('cp-ids');
    writeFileSync(join(home('cp-ids'), 'f'), '1');
    expect((await checkpoint('cp-ids', 'one')).at(-1)!.data).toBe('Checkpoint v0 created');
    expect((await checkpoint('cp-ids')).at(-1)!.data).toBe('Checkpoint v1 created');
    const list = (await (await engineFetch(engine, '/v1/sprites/cp-ids/checkpoints')).json()) as Array<Record<string, unknown>>;
    expect(list.map((c) => c.id)).toEqual(['Current', 'v0', 'v1']);
    expect(list[0]).toMatchObject({ source_id: 'v1' });
    expect(list[1]).toMatchObject({ comment: 'one' });
    expect(list[2]).toMatchObject({ source_id: 'v0' });
    const history = await engineFetch(engine, '/v1/sprites/cp-ids/checkpoints?history=v1');
    expect(history.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await history.text()).toBe('v1\nv0\n');
    const one = (await (await engineFetch(engine, '/v1/sprites/cp-ids/checkpoints/v0')).json()) as Record<string, unknown>;
    expect(one.id).toBe('v0');
    expect(Date.parse(one.create_time as string)).not.toBeNaN();
  });

  it('refuses to delete the active checkpoint (409) and deletes others; ids are not reused', async () => {
    await createSprite('cp-del');
    await checkpoint('cp-del');
    await checkpoint('cp-del');
    const active = await engineFetch(engine, '/v1/sprites/cp-del/checkpoints/v1', { method: 'DELETE' });
    expect(active.status).toBe(409);
    expect(((await active.json()) as { message: string }).message).toMatch(/active checkpoint/);
    await restore('cp-del', 'v0');
    expect((await engineFetch(engine, '/v1/sprites/cp-del/checkpoints/v0', { method: 'DELETE' })).status).toBe(409);
    expect((await engineFetch(engine, '/v1/sprites/cp-del/checkpoints/v1', { method: 'DELETE' })).status).toBe(204);
    expect((await engineFetch(engine, '/v1/sprites/cp-del/checkpoints/v1')).status).toBe(404);
    expect((await engineFetch(engine, '/v1/sprites/cp-del/checkpoints/v1', { method: 'DELETE' })).status).toBe(404);
    expect((await checkpoint('cp-del')).at(-1)!.data).toBe('Checkpoint v2 created');
  });

  it('keeps checkpoints per sprite: another sprite\'s id is a 404', async () => {
    await createSprite('cp-own-a');
    await createSprite('cp-own-b');
    await checkpoint('cp-own-a');
    await checkpoint('cp-own-a');
    const res = await engineFetch(engine, '/v1/sprites/cp-own-b/checkpoints/v1/restore', { method: 'POST' });
    expect(res.status).toBe(404);
    expect((await engineFetch(engine, '/v1/sprites/nope/checkpoints/v0/restore', { method: 'POST' })).status).toBe(404);
    expect((await engineFetch(engine, '/v1/sprites/nope/checkpoint', { method: 'POST' })).status).toBe(404);
  });

  it('lets a running checkpoint finish before its sprite is deleted, leaving nothing behind', async () => {
    await createSprite('cp-gone');
    // Asynchronous: a long-blocked event loop could reuse a keep-alive socket the engine closed.
    for (let i = 0; i < 1000; i++) await writeFile(join(home('cp-gone'), `f${i}`), 'x'.repeat(100));
    const res = await engineFetch(engine, '/v1/sprites/cp-gone/checkpoint', { method: 'POST' });
    const reader = res.body!.getReader();
    let seen = '';
    while (!/Copying/.test(seen)) seen += Buffer.from((await reader.read()).value!).toString();
    expect((await engineFetch(engine, '/v1/sprites/cp-gone', { method: 'DELETE' })).status).toBe(204);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen += Buffer.from(value).toString();
    }
    expect(seen).toMatch(/"type":"complete"/);
    expect(existsSync(join(engine.dataDir, 'sprites', 'cp-gone'))).toBe(false);
    await createSprite('cp-gone');
    expect((await checkpoint('cp-gone')).at(-1)!.data).toBe('Checkpoint v0 created');
  });

  it('reports a failed restore as an error event in the 200 stream and keeps the disk', async () => {
    await createSprite('cp-broken');
    writeFileSync(join(home('cp-broken'), 'f'), 'v0');
    await checkpoint('cp-broken');
    writeFileSync(join(home('cp-broken'), 'f'), 'now');
    await checkpoint('cp-broken');
    rmSync(join(engine.dataDir, 'sprites', 'cp-broken', 'checkpoints', 'v0', 'fs'), { recursive: true });
    const got = await restore('cp-broken', 'v0');
    expect(got.at(-1)).toMatchObject({ type: 'error', error: 'checkpoint v0 of cp-broken is damaged: its copy of the disk is missing' });
    expect(got.some((e) => e.type === 'complete')).toBe(false);
    expect(readFileSync(join(home('cp-broken'), 'f'), 'utf8')).toBe('now');
    expect(readdirSync(join(engine.dataDir, 'sprites', 'cp-broken')).sort()).toEqual(['checkpoints', 'fs', 'sprite.json']);
    const list = (await (await engineFetch(engine, '/v1/sprites/cp-broken/checkpoints')).json()) as Array<{ id: string; source_id?: string }>;
    expect(list[0]).toMatchObject({ id: 'Current', source_id: 'v1' });
  });

  it('serialises concurrent creates into distinct ids', async () => {
    await createSprite('cp-conc');
    const all = await Promise.all([checkpoint('cp-conc'), checkpoint('cp-conc'), checkpoint('cp-conc')]);
    expect(all.map((e) => e.at(-1)!.data).sort()).toEqual(['Checkpoint v0 created', 'Checkpoint v1 created', 'Checkpoint v2 created']);
  });
});

describe('checkpoint input validation', () => {
  it('refuses unknown fields, non-string and oversized comments, oversized bodies', async () => {
    await createSprite('cp-input');
    const post = (body: string) => engineFetch(engine, '/v1/sprites/cp-input/checkpoint', { method: 'POST', body });
    expect((await post('{"bogus":1}')).status).toBe(400);
    expect((await post('{"comment":5}')).status).toBe(400);
    expect((await post(JSON.stringify({ comment: 'x'.repeat(1025) }))).status).toBe(400);
    expect((await post('not json')).status).toBe(400);
    expect((await post(JSON.stringify({ comment: 'x'.repeat(2 * 1024 * 1024) }))).status).toBe(413);
  });

  it('refuses ids and names that try to leave the sprite directory', async () => {
    await createSprite('cp-paths');
    await checkpoint('cp-paths');
    for (const path of [
      '/v1/sprites/cp-paths/checkpoints/..',
      '/v1/sprites/cp-paths/checkpoints/%2e%2e',
      '/v1/sprites/cp-paths/checkpoints/../../cp-paths/checkpoints/v0',
      '/v1/sprites/cp-paths/checkpoints/..%2F..%2Fcp-paths',
      '/v1/sprites/cp-paths/checkpoints/%2Fetc%2Fpasswd',
      '/v1/sprites/cp-paths/checkpoints/v0%00',
      '/v1/sprites/cp-paths/checkpoints/state.json',
      '/v1/sprites/cp-paths/checkpoints/.partial-v0',
      '/v1/sprites/%2e%2e/checkpoints/v0',
      '/v1/sprites/..%2Fcp-paths/checkpoints/v0',
    ]) {
      expect([400, 404], `GET ${path}`).toContain(await rawStatus('GET', path));
      expect([400, 404], `DELETE ${path}`).toContain(await rawStatus('DELETE', path));
      expect([400, 404], `POST ${path}/restore`).toContain(await rawStatus('POST', `${path}/restore`));
    }
    expect(existsSync(join(engine.dataDir, 'sprites', 'cp-paths', 'checkpoints', 'state.json'))).toBe(true);
    // The router matches the raw path: a dot segment, plain or encoded, is never a name or an id.
    expect(await rawStatus('DELETE', '/v1/sprites/cp-paths/checkpoints/%2e%2e/checkpoints/v9')).toBe(404);
    expect(await rawStatus('GET', '/v1/sprites/../../etc/passwd')).toBe(400);
    expect(await rawStatus('POST', '/v1/sprites/cp-paths/checkpoints/../checkpoints/v0/restore')).toBe(404);
    expect((await engineFetch(engine, '/v1/sprites/cp-paths/checkpoints/v0')).status).toBe(200);
  });

  it('copies a planted symlink as a link and never writes through one on restore', async () => {
    await createSprite('cp-link');
    const outside = mkdtempSync(join(tmpdir(), 'sprites-outside-'));
    try {
      writeFileSync(join(outside, 'secret'), 'host secret\n');
      const h = home('cp-link');
      symlinkSync(outside, join(h, 'escape'));
      mkdirSync(join(h, 'd'));
      writeFileSync(join(h, 'd', 'planted'), 'from the sprite\n');
      await checkpoint('cp-link');
      const copy = join(engine.dataDir, 'sprites', 'cp-link', 'checkpoints', 'v0', 'fs', 'home', 'sprite');
      expect(lstatSync(join(copy, 'escape')).isSymbolicLink()).toBe(true);
      expect(existsSync(join(copy, 'secret'))).toBe(false);
      // Replace d with a link out of the sprite, then restore: d's file must not land outside.
      rmSync(join(h, 'd'), { recursive: true });
      symlinkSync(outside, join(h, 'd'));
      const done = await restore('cp-link', 'v0');
      expect(done.at(-1)!.type).toBe('complete');
      expect(readdirSync(outside)).toEqual(['secret']);
      expect(lstatSync(join(h, 'd')).isDirectory()).toBe(true);
      expect(readFileSync(join(h, 'd', 'planted'), 'utf8')).toBe('from the sprite\n');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it.skipIf(process.getuid?.() !== 0)('keeps overlay whiteouts (0/0 character devices) through checkpoint and restore', async () => {
    await createSprite('cp-whiteout');
    const upper = join(engine.dataDir, 'sprites', 'cp-whiteout', 'fs');
    mkdirSync(join(upper, 'usr', 'bin'), { recursive: true });
    execFileSync('mknod', [join(upper, 'usr', 'bin', 'deleted-tool'), 'c', '0', '0']);
    await checkpoint('cp-whiteout');
    rmSync(join(upper, 'usr'), { recursive: true });
    expect((await restore('cp-whiteout', 'v0')).at(-1)!.type).toBe('complete');
    const st = lstatSync(join(upper, 'usr', 'bin', 'deleted-tool'));
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(0);
  });

  it('restores over directories the sprite made read-only', async () => {
    await createSprite('cp-ro');
    const h = home('cp-ro');
    writeFileSync(join(h, 'keep'), 'v0\n');
    await checkpoint('cp-ro');
    mkdirSync(join(h, 'locked'));
    writeFileSync(join(h, 'locked', 'inside'), 'x');
    chmodSync(join(h, 'locked'), 0o500);
    const done = await restore('cp-ro', 'v0');
    expect(done.at(-1)).toMatchObject({ type: 'complete' });
    expect(existsSync(join(h, 'locked'))).toBe(false);
    expect(readdirSync(join(engine.dataDir, 'sprites', 'cp-ro')).sort()).toEqual(['checkpoints', 'fs', 'sprite.json']);
  });
});
