// Sprites REST (SPRITES-API.md §1) against a real engine process over real sockets.
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFetch, isolatedEnv, startEngine, type TestEngine } from '../helpers/cli.js';

let engine: TestEngine & { cleanup(): void };

beforeAll(async () => {
  engine = await startEngine();
});
afterAll(() => engine?.cleanup());

/** A GET whose path goes on the wire exactly as written (fetch would normalise %2E%2E away). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(engine.url + '/', { path, headers: { authorization: `Bearer ${engine.token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const json = (body: unknown): RequestInit => ({ method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
const create = (name: string, extra: Record<string, unknown> = {}) => engineFetch(engine, '/v1/sprites', json({ name, ...extra }));

async function listAll(e: Pick<TestEngine, 'url' | 'token'>, query: string): Promise<{ names: string[]; pages: number }> {
  const names: string[] = [];
  let token: string | null = null;
  let pages = 0;
  do {
    const q = new URLSearchParams(query);
    if (token) q.set('continuation_token', token);
    const res = await engineFetch(e, `/v1/sprites?${q}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { sprites: Array<{ name: string }>; has_more: boolean; next_continuation_token: string | null };
    names.push(...body.sprites.map((s) => s.name));
    expect(body.has_more).toBe(body.next_continuation_token !== null);
    token = body.next_continuation_token;
    pages++;
  } while (token);
  return { names, pages };
}

describe('sprites REST', () => {
  it('creates a sprite: 201 and the Sprite object in snake_case', async () => {
    const res = await create('rest-one', { labels: ['a', 'b'], environment: { K: 'v' }, url_settings: { auth: 'public' }, config: { ram_mb: 2048 } });
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/application\/json/);
    expect(res.headers.get('sprite-version')).toBeTruthy();
    const sprite = (await res.json()) as Record<string, unknown>;
    expect(sprite).toMatchObject({ name: 'rest-one', status: 'cold', labels: ['a', 'b'], environment: { K: 'v' }, url_settings: { auth: 'public' } });
    expect(sprite.config).toMatchObject({ ram_mb: 2048 });
    expect(typeof sprite.id).toBe('string');
    expect(Number.isNaN(Date.parse(sprite.created_at as string))).toBe(false);
    expect(sprite.updated_at).toBe(sprite.created_at);
  });

  it('gets a sprite, and 404 with the error body for a missing one', async () => {
    await create('rest-get');
    const res = await engineFetch(engine, '/v1/sprites/rest-get');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'rest-get' });
    const missing = await engineFetch(engine, '/v1/sprites/rest-nope');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'sprite_not_found', message: 'no sprite named rest-nope' });
  });

  it('decodes percent-encoded names, and refuses encoded slashes and dot segments', async () => {
    await create('rest-enc');
    const res = await engineFetch(engine, '/v1/sprites/%72est-%65nc');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'rest-enc' });
    for (const bad of ['/v1/sprites/a%2Fb', '/v1/sprites/%2E%2E', '/v1/sprites/%2e', '/v1/sprites/%ZZ', '/v1/sprites/a%00b', '/v1/sprites/a%5Cb']) {
      const r = await rawGet(bad);
      expect(r.status, bad).toBe(400);
      expect((JSON.parse(r.body) as { error: string }).error).toBe('invalid_path');
    }
  });

  it('updates partially with PUT: only the fields given change', async () => {
    await create('rest-put', { labels: ['x'], url_settings: { auth: 'public' } });
    const res = await engineFetch(engine, '/v1/sprites/rest-put', { method: 'PUT', body: JSON.stringify({ labels: ['y', 'z'] }) });
    expect(res.status).toBe(200);
    const updated = (await res.json()) as Record<string, unknown>;
    expect(updated).toMatchObject({ name: 'rest-put', labels: ['y', 'z'], url_settings: { auth: 'public' } });
    const res2 = await engineFetch(engine, '/v1/sprites/rest-put', { method: 'PUT', body: JSON.stringify({ url_settings: { auth: 'sprite' } }) });
    expect(await res2.json()).toMatchObject({ labels: ['y', 'z'], url_settings: { auth: 'sprite' } });
    const bad = await engineFetch(engine, '/v1/sprites/rest-put', { method: 'PUT', body: JSON.stringify({ name: 'other' }) });
    expect(bad.status).toBe(400);
    const missing = await engineFetch(engine, '/v1/sprites/rest-ghost', { method: 'PUT', body: '{}' });
    expect(missing.status).toBe(404);
  });

  it('deletes: 204 with no body, then 404', async () => {
    await create('rest-del');
    const res = await engineFetch(engine, '/v1/sprites/rest-del', { method: 'DELETE' });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect((await engineFetch(engine, '/v1/sprites/rest-del')).status).toBe(404);
    const again = await engineFetch(engine, '/v1/sprites/rest-del', { method: 'DELETE' });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: 'sprite_not_found' });
  });

  it('refuses invalid names with 400 and the naming rule', async () => {
    for (const name of ['', 'Upper', 'under_score', '-leading', 'a'.repeat(64), 'dot.ted', 'spa ce', 'é']) {
      const res = await create(name);
      expect(res.status, name).toBe(400);
      const body = (await res.json()) as { error: string; message: string };
      expect(body.error).toBe('invalid_name');
      expect(body.message).toMatch(/1-63 characters of lowercase letters, digits and hyphens/);
    }
    expect((await create('a'.repeat(63))).status).toBe(201);
    const noName = await engineFetch(engine, '/v1/sprites', json({}));
    expect(noName.status).toBe(400);
  });

  it('refuses bad bodies: invalid JSON, unknown fields, wrong types, too large', async () => {
    const notJson = await engineFetch(engine, '/v1/sprites', { method: 'POST', body: '{nope' });
    expect(notJson.status).toBe(400);
    expect(await notJson.json()).toMatchObject({ error: 'invalid_json' });
    expect((await create('rest-bad', { colour: 'red' })).status).toBe(400);
    expect((await create('rest-bad', { labels: 'x' })).status).toBe(400);
    expect((await create('rest-bad', { environment: { A: 1 } })).status).toBe(400);
    expect((await create('rest-bad', { url_settings: { auth: 'everyone' } })).status).toBe(400);
    expect((await create('rest-bad', { config: { ram_mb: -1 } })).status).toBe(400);
    expect((await create('rest-bad', { config: [1] })).status).toBe(400);
    expect((await create('rest-bad', { config: { gpus: 8 } })).status).toBe(400);
    expect((await create('rest-bad', { url_settings: [] })).status).toBe(400);
    expect((await create('rest-bad', { url_settings: { auth: 'public', extra: 1 } })).status).toBe(400);
    expect((await create('rest-bad', { wait_for_capacity: 'yes' })).status).toBe(400);
    expect((await create('rest-bad', { runtime: 'turbo' })).status).toBe(400);
    const huge = await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name: 'rest-bad', labels: ['x'.repeat(2 * 1024 * 1024)] }) }).catch((e: Error) => e);
    if (huge instanceof Response) {
      expect(huge.status).toBe(413);
      expect(huge.headers.get('connection')).toBe('close');
    }
    expect((await engineFetch(engine, '/v1/sprites/rest-bad')).status).toBe(404);
  });

  it('refuses a duplicate name', async () => {
    expect((await create('rest-dup')).status).toBe(201);
    const res = await create('rest-dup');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: 'sprite_already_exists', message: 'a sprite named rest-dup already exists' });
  });

  it('lets exactly one of many concurrent creates of one name win', async () => {
    const results = await Promise.all(Array.from({ length: 12 }, () => create('rest-race')));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 400)).toHaveLength(11);
  });

  it('lists with prefix, max_results and continuation tokens across pages', async () => {
    const names = Array.from({ length: 23 }, (_, i) => `page-${String(i).padStart(2, '0')}`);
    for (const n of names) expect((await create(n)).status).toBe(201);
    await create('pagf-other');
    const byFive = await listAll(engine, 'prefix=page-&max_results=5');
    expect(byFive.names).toEqual(names);
    expect(byFive.pages).toBe(5);
    const byFifty = await listAll(engine, 'prefix=page-&max_results=50');
    expect(byFifty).toEqual({ names, pages: 1 });
    const exact = await listAll(engine, 'prefix=page-&max_results=23');
    expect(exact).toEqual({ names, pages: 1 });
    const res = await engineFetch(engine, '/v1/sprites?prefix=page-1');
    const body = (await res.json()) as { sprites: Array<{ name: string }>; has_more: boolean; next_continuation_token: null; cold: number };
    expect(body.sprites.map((s) => s.name)).toEqual(names.filter((n) => n.startsWith('page-1')));
    expect(body.has_more).toBe(false);
    expect(body.next_continuation_token).toBeNull();
    expect(typeof body.cold).toBe('number');
    const all = await listAll(engine, '');
    expect(all.names).toEqual([...all.names].sort());
    expect(all.names).toContain('pagf-other');
  });

  it('refuses max_results outside 1-50 and a forged continuation token', async () => {
    for (const bad of ['0', '51', '-1', 'abc', '2.5', '']) {
      const res = await engineFetch(engine, `/v1/sprites?max_results=${bad}`);
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { message: string }).message).toMatch(/1 to 50/);
    }
    for (const ok of ['1', '50']) expect((await engineFetch(engine, `/v1/sprites?max_results=${ok}`)).status).toBe(200);
    const forged = await engineFetch(engine, `/v1/sprites?continuation_token=${Buffer.from('../x').toString('base64url')}`);
    expect(forged.status).toBe(400);
  });

  it('answers 401 with the contract body without a token or with a wrong one', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: engine.token }, { authorization: `Basic ${engine.token}` }]) {
      const res = await fetch(`${engine.url}/v1/sprites`, { headers });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'unauthorized', message: 'Missing or invalid authentication' });
    }
  });

  it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    const unknown = await engineFetch(engine, '/v1/nothing-here');
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'not_found' });
    const wrong = await engineFetch(engine, '/v1/sprites/some-name', { method: 'PATCH' });
    expect(wrong.status).toBe(405);
    expect(await wrong.json()).toMatchObject({ error: 'method_not_allowed' });
    expect((await engineFetch(engine, '/v1/sprites', { method: 'DELETE' })).status).toBe(405);
  });
});

describe('durability', () => {
  it('keeps every sprite across SIGTERM and SIGKILL restarts', async () => {
    const base = isolatedEnv();
    try {
      let e = await startEngine(base);
      const names = ['keep-a', 'keep-b', 'keep-c'];
      for (const n of names) expect((await engineFetch(e, '/v1/sprites', json({ name: n, labels: [n] }))).status).toBe(201);
      await engineFetch(e, '/v1/sprites/keep-b', { method: 'PUT', body: JSON.stringify({ labels: ['changed'] }) });
      await e.stop();
      e = await startEngine(base);
      expect((await listAll(e, '')).names).toEqual(names);
      expect(await (await engineFetch(e, '/v1/sprites/keep-b')).json()).toMatchObject({ labels: ['changed'] });
      expect((await engineFetch(e, '/v1/sprites', json({ name: 'keep-d' }))).status).toBe(201);
      expect((await engineFetch(e, '/v1/sprites/keep-a', { method: 'DELETE' })).status).toBe(204);
      await e.kill();
      e = await startEngine(base);
      expect((await listAll(e, '')).names).toEqual(['keep-b', 'keep-c', 'keep-d']);
      await e.stop();
    } finally {
      base.cleanup();
    }
  });
});
