// Lifecycle commands: the real binary against a real engine, in --json, piped and TTY forms.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { isolatedEnv, runCli, startEngine, type RunResult, type TestEngine } from '../helpers/cli.js';
import { runCliPty } from '../helpers/pty.js';

let engine: TestEngine & { cleanup(): void };
const NAME_RULE = /1-63 characters of lowercase letters, digits and hyphens/;

beforeAll(async () => {
  engine = await startEngine();
});
afterAll(() => engine?.cleanup());

const cli = (args: string[], env = engine.env, input?: string) => runCli(args, { env, input });

/** stdout is exactly one JSON document and nothing else. */
function oneJson(r: RunResult): unknown {
  expect(r.stdout.endsWith('\n')).toBe(true);
  return JSON.parse(r.stdout);
}

function noStack(r: RunResult): void {
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stdout).not.toMatch(/\n\s+at /);
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('--json', () => {
  it('create, get, info, update, list, ls, delete, destroy: one JSON document each', async () => {
    const created = await cli(['create', 'life-json', '--label', 'x', '--env', 'A=1=2', '--url-auth', 'public', '--ram-mb', '512', '--json']);
    expect(created.code).toBe(0);
    expect(oneJson(created)).toMatchObject({ name: 'life-json', labels: ['x'], environment: { A: '1=2' }, url_settings: { auth: 'public' }, config: { ram_mb: 512 } });
    await cli(['create', 'life-json2', '--json']);
    const [get, info, list, ls, listPrefixed] = await Promise.all([
      cli(['get', 'life-json', '--json']),
      cli(['info', 'life-json', '--json']),
      cli(['list', '--json']),
      cli(['ls', '--json', '--prefix', 'life-json']),
      cli(['list', '--json', '--prefix', 'life-json', '--limit', '1']),
    ]);
    for (const r of [get, info, list, ls, listPrefixed]) expect(r.code, r.stderr).toBe(0);
    expect(oneJson(get)).toMatchObject({ name: 'life-json', status: 'cold' });
    expect(oneJson(info)).toEqual(oneJson(get));
    expect((oneJson(list) as Array<{ name: string }>).map((s) => s.name)).toEqual(expect.arrayContaining(['life-json', 'life-json2']));
    expect((oneJson(ls) as Array<{ name: string }>).map((s) => s.name)).toEqual(['life-json', 'life-json2']);
    expect((oneJson(listPrefixed) as Array<{ name: string }>).map((s) => s.name)).toEqual(['life-json']);
    const updated = await cli(['update', 'life-json', '--label', 'y', '--label', 'z', '--json']);
    expect(oneJson(updated)).toMatchObject({ labels: ['y', 'z'], url_settings: { auth: 'public' } });
    const cleared = await cli(['update', 'life-json', '--clear-labels', '--json']);
    expect(oneJson(cleared)).toMatchObject({ labels: [] });
    const [del, destroy] = await Promise.all([cli(['delete', 'life-json', '--force', '--json']), cli(['destroy', 'life-json2', '--force', '--json'])]);
    expect(oneJson(del)).toEqual({ name: 'life-json', deleted: true });
    expect(oneJson(destroy)).toEqual({ name: 'life-json2', deleted: true });
    const gone = await cli(['get', 'life-json', '--json']);
    expect(gone.code).toBe(1);
    expect(oneJson(gone)).toMatchObject({ error: { message: 'no sprite named life-json', status: 404 } });
  });

  it('list follows continuation tokens past one page of 50', async () => {
    await Promise.all(
      Array.from({ length: 53 }, (_, i) =>
        fetch(`${engine.url}/v1/sprites`, { method: 'POST', headers: { authorization: `Bearer ${engine.token}` }, body: JSON.stringify({ name: `many-${String(i).padStart(2, '0')}` }) }),
      ),
    );
    const [all, some, piped] = await Promise.all([
      cli(['list', '--prefix', 'many-', '--json']),
      cli(['list', '--prefix', 'many-', '--limit', '51', '--json']),
      cli(['ls', '--prefix', 'many-']),
    ]);
    expect((oneJson(all) as unknown[]).length).toBe(53);
    expect((oneJson(some) as unknown[]).length).toBe(51);
    expect(piped.stdout.trim().split('\n')).toHaveLength(53);
  });
});

describe('piped', () => {
  it('create prints the name; list prints one name a line; get prints key<TAB>value rows', async () => {
    const created = await cli(['create', 'pipe-a', '--label', 'l1']);
    expect(created.code).toBe(0);
    expect(created.stdout).toBe('pipe-a\n');
    await cli(['create', 'pipe-b']);
    const list = await cli(['list', '--prefix', 'pipe-']);
    expect(list.code).toBe(0);
    expect(list.stdout).toBe('pipe-a\npipe-b\n');
    const get = await cli(['get', 'pipe-a']);
    expect(get.stdout).toMatch(/^name\tpipe-a\n/);
    expect(get.stdout).toMatch(/\nlabels\tl1\n/);
    expect(get.stdout).not.toMatch(/\x1b\[/);
    const emptyList = await cli(['list', '--prefix', 'nothing-']);
    expect(emptyList).toMatchObject({ code: 0, stdout: '' });
    const del = await cli(['delete', 'pipe-b', '--force']);
    expect(del).toMatchObject({ code: 0, stdout: '' });
    expect(del.stderr).toMatch(/Deleted sprite pipe-b/);
  });
});

describe('TTY', () => {
  it('list shows a table with a header; get shows aligned fields', async () => {
    await cli(['create', 'tty-a', '--label', 'team']);
    const list = runCliPty(['list', '--prefix', 'tty-'], { env: engine.env, cols: 160 });
    expect((await list.exited).exitCode).toBe(0);
    expect(list.output()).toMatch(/\x1b\[1mNAME/);
    const out = list.output().replace(/\x1b\[[0-9;]*m/g, '');
    expect(out).toMatch(/NAME\s+STATUS\s+LABELS\s+CREATED\s+URL/);
    expect(out).toMatch(/tty-a\s+cold\s+team\s+\d+s ago/);
    const get = runCliPty(['info', 'tty-a'], { env: { ...engine.env, NO_COLOR: '1' } });
    expect((await get.exited).exitCode).toBe(0);
    expect(get.output()).toMatch(/name\s+tty-a/);
    expect(get.output()).not.toMatch(/name\ttty-a/);
    expect(get.output()).not.toMatch(/\x1b\[/);
  });

  it('create shows what it made', async () => {
    const run = runCliPty(['create', 'tty-new', '--label', 'l'], { env: { ...engine.env, NO_COLOR: '1' } });
    expect((await run.exited).exitCode).toBe(0);
    expect(run.output()).toMatch(/Created sprite tty-new/);
    expect(run.output()).toMatch(/name\s+tty-new\r?\n/);
    expect(run.output()).toMatch(/labels\s+l\r?\n/);
  });

  it('delete asks and needs the name typed', async () => {
    await cli(['create', 'tty-del']);
    const wrong = runCliPty(['delete', 'tty-del'], { env: engine.env });
    await wrong.waitFor('Type the name to confirm');
    wrong.write('yes\r');
    expect((await wrong.exited).exitCode).toBe(1);
    expect(wrong.output()).toMatch(/Not deleted/);
    expect((await cli(['get', 'tty-del'])).code).toBe(0);
    const right = runCliPty(['delete', 'tty-del'], { env: engine.env });
    await right.waitFor('Type the name to confirm');
    right.write('tty-del\r');
    expect((await right.exited).exitCode).toBe(0);
    expect(right.output()).toMatch(/Deleted sprite tty-del/);
    expect((await cli(['get', 'tty-del'])).code).toBe(1);
  });
});

describe('exit codes and messages', () => {
  it('invalid name → 2 with the rule; unknown flag → 2 with the usage line; unknown command → 2', async () => {
    const [badName, badFlag, badCmd, missingArg, badEnv, badLimit, badOption] = await Promise.all([
      cli(['create', 'Bad_Name']),
      cli(['create', 'ok-name', '--bogus']),
      cli(['frobnicate']),
      cli(['create']),
      cli(['create', 'ok-name', '--env', '1BAD=x']),
      cli(['list', '--limit', '0']),
      cli(['create', 'ok-name', '--url-auth', 'everyone']),
    ]);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/Expected --url-auth=everyone to be one of: sprite, public/);
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toMatch(/--env "1BAD=x": "1BAD" is not a valid variable name/);
    expect(badLimit.code).toBe(2);
    expect(badName.code).toBe(2);
    expect(badName.stderr).toMatch(NAME_RULE);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/--bogus/);
    expect(badFlag.stderr).toMatch(/Usage: sprites create NAME \[flags\]/);
    expect(badCmd.code).toBe(2);
    expect(badCmd.stderr).toMatch(/unknown command "frobnicate"/);
    expect(missingArg.code).toBe(2);
    for (const r of [badName, badFlag, badCmd, missingArg, badEnv, badLimit, badOption]) noStack(r);
    expect((await cli(['get', 'ok-name'])).code).toBe(1);
  });

  it('missing sprite → 1 "no sprite named X" for get, update and delete', async () => {
    const rs = await Promise.all([cli(['get', 'ghost']), cli(['update', 'ghost', '--label', 'a']), cli(['delete', 'ghost', '--force'])]);
    for (const r of rs) {
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no sprite named ghost/);
    }
  });

  it('duplicate → 1', async () => {
    await cli(['create', 'dup-one']);
    const r = await cli(['create', 'dup-one']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/a sprite named dup-one already exists/);
  });

  it('wrong token → 4 naming the token source', async () => {
    const [env1, env2] = await Promise.all([
      cli(['list'], { ...engine.env, SPRITES_TOKEN: 'not-the-token-1234' }),
      cli(['list'], { ...engine.env, SPRITES_TOKEN: '', SPRITE_TOKEN: 'not-the-token-1234' }),
    ]);
    expect(env1.code).toBe(4);
    expect(env1.stderr).toMatch(/refused the token from SPRITES_TOKEN/);
    expect(env2.code).toBe(4);
    expect(env2.stderr).toMatch(/refused the token from SPRITE_TOKEN/);
  });

  it('unreachable API → 1 naming the URL', async () => {
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await cli(['list'], { ...engine.env, SPRITES_API_URL: url });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(url);
    expect(r.stderr).toMatch(/ECONNREFUSED/);
    noStack(r);
  });

  it('corrupt config file and corrupt engine state file → a message naming the file, no stack trace', async () => {
    const home = isolatedEnv();
    try {
      const configDir = join(home.env.XDG_CONFIG_HOME!, 'sprites');
      mkdirSync(configDir, { recursive: true });
      writeFileSync(join(configDir, 'config.json'), '{"token": ', { mode: 0o600 });
      const r1 = await cli(['list'], home.env);
      expect(r1.code).toBe(1);
      expect(r1.stderr).toContain(join(configDir, 'config.json'));
      noStack(r1);
      writeFileSync(join(configDir, 'config.json'), '{}');
      const stateDir = join(home.env.XDG_STATE_HOME!, 'sprites');
      mkdirSync(stateDir, { recursive: true });
      writeFileSync(join(stateDir, 'engine.json'), 'not json at all');
      const r2 = await cli(['list', '--api', 'local'], home.env);
      expect(r2.code).toBe(1);
      expect(r2.stderr).toContain(join(stateDir, 'engine.json'));
      noStack(r2);
      const r3 = await cli(['local', 'status'], home.env);
      expect(r3.code).toBe(1);
      expect(r3.stderr).toContain(join(stateDir, 'engine.json'));
      noStack(r3);
    } finally {
      home.cleanup();
    }
  });

  it('delete without a TTY and without --force → 2, and the sprite stays', async () => {
    await cli(['create', 'keep-me']);
    const r = await cli(['delete', 'keep-me']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--force/);
    const j = await cli(['delete', 'keep-me', '--json']);
    expect(j.code).toBe(2);
    expect((await cli(['get', 'keep-me'])).code).toBe(0);
  });

  it('errors under --json are one JSON document on stdout too', async () => {
    const r = await cli(['create', 'Nope', '--json']);
    expect(r.code).toBe(2);
    expect(oneJson(r)).toMatchObject({ error: { message: expect.stringMatching(NAME_RULE) } });
  });
});
