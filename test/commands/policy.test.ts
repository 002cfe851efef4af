// `sprites policy ...` as a subprocess against a real engine, plus a hostile server for a 400.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineFetch, isolatedEnv, runCli, startEngine, type TestEngine } from '../helpers/cli.js';
import { startHostileServer } from '../helpers/hostile.js';

let engine: TestEngine & { cleanup(): void };

beforeAll(async () => {
  engine = await startEngine();
  for (const name of ['pol-rt', 'pol-set', 'pol-priv']) {
    expect((await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name }) })).status).toBe(201);
  }
});
afterAll(async () => {
  await engine?.stop();
  engine?.cleanup();
});

const cli = (args: string[], input?: string) => runCli(args, { env: engine.env, input });
const stored = async (name: string, kind = 'network') => (await (await engineFetch(engine, `/v1/sprites/${name}/policy/${kind}`)).json()) as unknown;

describe('network policy commands', () => {
  it('allow, deny and remove round trip, printing the resulting rules', async () => {
    const allow = await cli(['policy', 'allow', 'pol-rt', 'github.com', '*.npmjs.org']);
    expect(allow.code).toBe(0);
    expect(allow.stdout).toBe('allow\tgithub.com\nallow\t*.npmjs.org\n');

    const deny = await cli(['policy', 'deny', 'pol-rt', '*', 'github.com']);
    expect(deny.code).toBe(0);
    // github.com keeps its place and changes action; * is appended.
    expect(deny.stdout).toBe('deny\tgithub.com\nallow\t*.npmjs.org\ndeny\t*\n');

    const remove = await cli(['policy', 'remove', 'pol-rt', 'github.com', 'never.example']);
    expect(remove.code).toBe(0);
    expect(remove.stdout).toBe('allow\t*.npmjs.org\ndeny\t*\n');
    expect(remove.stderr).toMatch(/no rule for never\.example/);
    expect(await stored('pol-rt')).toEqual({ rules: [{ domain: '*.npmjs.org', action: 'allow' }, { domain: '*', action: 'deny' }] });

    const json = await cli(['policy', 'get', 'pol-rt', '--json']);
    expect(JSON.parse(json.stdout)).toEqual(await stored('pol-rt'));

    const reset = await cli(['policy', 'reset', 'pol-rt']);
    expect(reset.code).toBe(0);
    expect(await stored('pol-rt')).toEqual({ rules: [] });
    const empty = await cli(['policy', 'get', 'pol-rt']);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toMatch(/no network rules/);
  });

  it('refuses a bad domain before sending anything (exit 2)', async () => {
    const before = await stored('pol-rt');
    const r = await cli(['policy', 'allow', 'pol-rt', 'good.com', 'bad.*.com']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/"bad\.\*\.com" has a wildcard that is not a leading/);
    expect(await stored('pol-rt')).toEqual(before);
  });

  it('sets a whole document from a file or stdin', async () => {
    const doc = { rules: [{ include: 'defaults' }, { domain: '*.github.com', action: 'allow' }, { domain: '*', action: 'deny' }] };
    const file = join(engine.dataDir, '..', 'policy.json');
    writeFileSync(file, JSON.stringify(doc));
    const fromFile = await cli(['policy', 'set', 'pol-set', '--file', file]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toBe('include\tdefaults\nallow\t*.github.com\ndeny\t*\n');
    expect(await stored('pol-set')).toEqual(doc);

    const fromStdin = await cli(['policy', 'set', 'pol-set', '--file', '-', '--json'], JSON.stringify({ rules: [{ domain: 'a.com', action: 'deny' }] }));
    expect(fromStdin.code).toBe(0);
    expect(JSON.parse(fromStdin.stdout)).toEqual({ rules: [{ domain: 'a.com', action: 'deny' }] });
  });

  it.each([
    ['{"rules":[{"domain":"a.com","action":"allow","ttl":5}]}', /rules\[0\]: unknown key "ttl"/],
    ['{"rules":[{"domain":"a.com","action":"allow"},{"include":"all"}]}', /rules\[1\]: include must be "defaults"/],
    ['{"rules": [', /stdin is not valid JSON/],
  ])('refuses the invalid document %s with exit 2, naming the problem, sending nothing', async (doc, reason) => {
    const before = await stored('pol-set');
    const r = await cli(['policy', 'set', 'pol-set', '--file', '-'], doc);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(reason);
    expect(await stored('pol-set')).toEqual(before);
  });

  it('shows the server\'s reason for a 400 (exit 1)', async () => {
    const hostile = await startHostileServer((req, res) => {
      if (req.method === 'POST') {
        res.writeHead(400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'invalid_policy', message: 'rules[0]: this organisation forbids *' }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"rules":[]}');
      }
    });
    const client = isolatedEnv();
    try {
      const r = await runCli(['policy', 'deny', 'demo', '*', '--api', hostile.url], { env: { ...client.env, SPRITES_TOKEN: 't0ken' } });
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/rules\[0\]: this organisation forbids \*/);
      expect(hostile.requests).toEqual(['GET /v1/sprites/demo/policy/network', 'POST /v1/sprites/demo/policy/network']);
    } finally {
      await hostile.close();
      client.cleanup();
    }
  });
});

describe('privileges and resources commands', () => {
  it('show, set with flags, and reset', async () => {
    const shown = await cli(['policy', 'privileges', 'pol-priv']);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toBe('profile\t-\nno_new_privileges\t-\ndevices\t-\n');

    const set = await cli(['policy', 'privileges', 'pol-priv', '--profile', 'minimal', '--no-new-privileges', '--device', '/dev/fuse', '--json']);
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ profile: 'minimal', no_new_privileges: true, devices: ['/dev/fuse'] });
    expect(await stored('pol-priv', 'privileges')).toEqual({ profile: 'minimal', no_new_privileges: true, devices: ['/dev/fuse'] });

    const badDevice = await cli(['policy', 'privileges', 'pol-priv', '--device', '/etc/shadow']);
    expect(badDevice.code).toBe(2);
    expect(badDevice.stderr).toMatch(/devices\[0\]: .*not a path under \/dev/);
    const badProfile = await cli(['policy', 'privileges', 'pol-priv', '--profile', 'root']);
    expect(badProfile.code).toBe(2);

    const res = await cli(['policy', 'resources', 'pol-priv', '--memory-mb', '2048', '--autoscale']);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('memory_limit_mb\t2048\nautoscale\ttrue\n');
    expect(await stored('pol-priv', 'resources')).toEqual({ memory: { limit_mb: 2048, autoscale: true } });
    expect((await cli(['policy', 'resources', 'pol-priv', '--autoscale'])).code).toBe(2);

    const reset = await cli(['policy', 'resources', 'pol-priv', '--reset', '--json']);
    expect(reset.code).toBe(0);
    expect(JSON.parse(reset.stdout)).toEqual({});
    expect((await cli(['policy', 'privileges', 'pol-priv', '--reset'])).code).toBe(0);
    expect(await stored('pol-priv', 'privileges')).toEqual({});
  });
});
