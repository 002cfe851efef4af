// Policies on a real engine: validated with the shared rules (400 with the reason), stored durably
// (they survive a restart), returned by GET, replaced by POST (204), deleted where the API allows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { engineFetch, isolatedEnv, startEngine, type TestEngine } from '../helpers/cli.js';

const base = isolatedEnv();
let engine: TestEngine;

beforeAll(async () => {
  engine = await startEngine(base);
  expect((await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name: 'pol' }) })).status).toBe(201);
});
afterAll(async () => {
  await engine?.stop();
  base.cleanup();
});

const post = (kind: string, body: string, name = 'pol') => engineFetch(engine, `/v1/sprites/${name}/policy/${kind}`, { method: 'POST', body });
const get = async (kind: string, name = 'pol') => {
  const res = await engineFetch(engine, `/v1/sprites/${name}/policy/${kind}`);
  return { status: res.status, body: (await res.json()) as unknown };
};

describe('network policy', () => {
  it('is empty until set, then returns exactly what was posted', async () => {
    expect(await get('network')).toEqual({ status: 200, body: { rules: [] } });
    const doc = { rules: [{ domain: '*.github.com', action: 'allow' }, { include: 'defaults' }, { domain: '*', action: 'deny' }] };
    const res = await post('network', JSON.stringify(doc));
    expect(res.status).toBe(204);
    expect(await res.text()).toBe('');
    expect(await get('network')).toEqual({ status: 200, body: doc });
  });

  it('answers 400 with the reason for an invalid document and keeps the old one', async () => {
    const before = await get('network');
    for (const [body, reason] of [
      ['{}', /"rules" is required/],
      ['{"rules":[{"domain":"a.com","action":"allow","port":1}]}', /rules\[0\]: unknown key "port"/],
      ['{"rules":[{"domain":"ok.com","action":"allow"},{"domain":"a.*.com","action":"allow"}]}', /rules\[1\]: .*wildcard/],
      ['{"rules":[{"include":"everything"}]}', /rules\[0\]: include must be "defaults"/],
      ['[1]', /JSON object/],
      ['{"rules":', /not valid JSON/],
    ] as const) {
      const res = await post('network', body);
      expect(res.status, body).toBe(400);
      const err = (await res.json()) as { error: string; message: string };
      expect(err.message, body).toMatch(reason);
    }
    expect(await get('network')).toEqual(before);
  });

  it('refuses bodies over the size limit with 413', async () => {
    const rules = Array.from({ length: 40000 }, (_, i) => ({ domain: `host-${i}.example.com`, action: 'allow' }));
    const res = await post('network', JSON.stringify({ rules }));
    expect(res.status).toBe(413);
  });

  it('answers 404 for a sprite that does not exist', async () => {
    expect((await get('network', 'ghost')).status).toBe(404);
    expect((await post('network', '{"rules":[]}', 'ghost')).status).toBe(404);
  });
});

describe('privileges and resources policies', () => {
  it('are stored, returned, validated and deleted', async () => {
    expect(await get('privileges')).toEqual({ status: 200, body: {} });
    expect(await get('resources')).toEqual({ status: 200, body: {} });
    expect((await post('privileges', '{"profile":"minimal","no_new_privileges":true,"devices":["/dev/fuse"]}')).status).toBe(204);
    expect((await post('resources', '{"memory":{"limit_mb":512,"autoscale":false}}')).status).toBe(204);
    expect(await get('privileges')).toEqual({ status: 200, body: { profile: 'minimal', no_new_privileges: true, devices: ['/dev/fuse'] } });
    expect(await get('resources')).toEqual({ status: 200, body: { memory: { limit_mb: 512, autoscale: false } } });

    const bad = await post('privileges', '{"profile":"root"}');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { message: string }).message).toMatch(/profile must be one of/);
    expect((await post('resources', '{"memory":{"limit_mb":-1}}')).status).toBe(400);
  });

  it('survive an engine restart, and DELETE resets them', async () => {
    await engine.stop();
    engine = await startEngine(base);
    expect((await get('network')).body).toMatchObject({ rules: [{ domain: '*.github.com', action: 'allow' }, { include: 'defaults' }, { domain: '*', action: 'deny' }] });
    expect((await get('privileges')).body).toMatchObject({ profile: 'minimal' });
    expect((await get('resources')).body).toEqual({ memory: { limit_mb: 512, autoscale: false } });
    for (const kind of ['privileges', 'resources']) {
      expect((await engineFetch(engine, `/v1/sprites/pol/policy/${kind}`, { method: 'DELETE' })).status).toBe(204);
      expect(await get(kind)).toEqual({ status: 200, body: {} });
    }
    expect((await engineFetch(engine, '/v1/sprites/pol/policy/network', { method: 'DELETE' })).status).toBe(405);
  });
});
