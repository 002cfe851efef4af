// `sprites checkpoint ...` as a subprocess against a real engine (piped and under a PTY), and
// against a hostile server for the failure modes a real server rarely shows.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { engineFetch, isolatedEnv, runCli, startEngine, type TestEngine } from '../helpers/cli.js';
import { runCliPty } from '../helpers/pty.js';
import { startHostileServer, type HostileServer } from '../helpers/hostile.js';

let engine: TestEngine & { cleanup(): void };
let hostile: HostileServer;
/** What the hostile server answers to a streamed operation, by test. */
let script: (res: import('node:http').ServerResponse) => void = () => {};

beforeAll(async () => {
  engine = await startEngine();
  hostile = await startHostileServer((_req, res) => script(res));
});
afterAll(async () => {
  await engine?.stop();
  engine?.cleanup();
  await hostile?.close();
});

const home = (name: string) => join(engine.dataDir, 'sprites', name, 'fs', 'home', 'sprite');

async function createSprite(name: string): Promise<void> {
  expect((await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name }) })).status).toBe(201);
}

const cli = (args: string[], input?: string) => runCli(args, { env: engine.env, input });

describe('checkpoint commands against the local engine', () => {
  it('create, list, get, restore, delete round trip (piped)', async () => {
    await createSprite('cmd-cp');
    writeFileSync(join(home('cmd-cp'), 'data.txt'), 'original\n');

    const created = await cli(['checkpoint', 'create', 'cmd-cp', '--comment', 'first']);
    expect(created.code).toBe(0);
    expect(created.stdout).toBe('');
    expect(created.stderr).toMatch(/Copying 1 file/);
    expect(created.stderr).toMatch(/Checkpoint v0 created\n$/);

    writeFileSync(join(home('cmd-cp'), 'data.txt'), 'changed\n');
    writeFileSync(join(home('cmd-cp'), 'extra.txt'), 'extra\n');

    const list = await cli(['checkpoint', 'list', 'cmd-cp']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^v0\t\d{4}-\d\d-\d\dT[^\t]+\tcurrent\tfirst\n$/);

    const got = await cli(['checkpoint', 'get', 'cmd-cp', 'v0', '--json']);
    expect(got.code).toBe(0);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: 'v0', comment: 'first' });

    const refused = await cli(['checkpoint', 'restore', 'cmd-cp', 'v0']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--force/);
    expect(readFileSync(join(home('cmd-cp'), 'data.txt'), 'utf8')).toBe('changed\n');

    const restored = await cli(['checkpoint', 'restore', 'cmd-cp', 'v0', '--force']);
    expect(restored.code).toBe(0);
    expect(restored.stderr).toMatch(/sessions .* killed/);
    expect(restored.stderr).toMatch(/Restore from v0 complete\n$/);
    expect(readFileSync(join(home('cmd-cp'), 'data.txt'), 'utf8')).toBe('original\n');
    expect(readdirSync(home('cmd-cp'))).toEqual(['data.txt']);

    const json = await cli(['checkpoint', 'create', 'cmd-cp', '--json']);
    expect(json.code).toBe(0);
    const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; data: string });
    expect(events[0]!.type).toBe('info');
    expect(events.at(-1)).toMatchObject({ type: 'complete', data: 'Checkpoint v1 created' });
    expect(json.stderr).toBe('');

    const active = await cli(['checkpoint', 'delete', 'cmd-cp', 'v1']);
    expect(active.code).toBe(1);
    expect(active.stderr).toMatch(/v1 is the active checkpoint of cmd-cp .*create a newer checkpoint or restore another one first/);

    const deleted = await cli(['checkpoint', 'delete', 'cmd-cp', 'v0']);
    expect(deleted.code).toBe(0);
    const ls = await cli(['checkpoint', 'ls', 'cmd-cp', '--json']);
    expect((JSON.parse(ls.stdout) as Array<{ id: string }>).map((c) => c.id)).toEqual(['Current', 'v1']);
  });

  it('fails with exit 1 for an unknown checkpoint or sprite, 2 for a bad name', async () => {
    await createSprite('cmd-missing');
    const unknown = await cli(['checkpoint', 'restore', 'cmd-missing', 'v7', '--force']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no checkpoint v7/);
    const ghost = await cli(['checkpoint', 'create', 'ghost']);
    expect(ghost.code).toBe(1);
    expect(ghost.stderr).toMatch(/no sprite named ghost/);
    const bad = await cli(['checkpoint', 'list', 'Bad_Name']);
    expect(bad.code).toBe(2);
  });

  it('asks before restoring on a terminal, and shows the final line', async () => {
    await createSprite('cmd-tty');
    writeFileSync(join(home('cmd-tty'), 'f'), 'v0\n');
    const create = runCliPty(['checkpoint', 'create', 'cmd-tty'], { env: engine.env });
    expect((await create.exited).exitCode).toBe(0);
    expect(create.output()).toMatch(/Checkpoint v0 created/);
    writeFileSync(join(home('cmd-tty'), 'f'), 'later\n');

    const no = runCliPty(['checkpoint', 'restore', 'cmd-tty', 'v0'], { env: engine.env });
    await no.waitFor(/killed.*\[y\/N\]/s);
    no.write('n\r');
    expect((await no.exited).exitCode).toBe(1);
    expect(no.output()).toMatch(/Not restored/);
    expect(readFileSync(join(home('cmd-tty'), 'f'), 'utf8')).toBe('later\n');

    const yes = runCliPty(['checkpoint', 'restore', 'cmd-tty', 'v0'], { env: engine.env });
    await yes.waitFor('[y/N]');
    yes.write('y\r');
    expect((await yes.exited).exitCode).toBe(0);
    expect(yes.output()).toMatch(/Restore from v0 complete/);
    expect(readFileSync(join(home('cmd-tty'), 'f'), 'utf8')).toBe('v0\n');

    const table = runCliPty(['checkpoint', 'list', 'cmd-tty'], { env: { ...engine.env, NO_COLOR: '1' } });
    expect((await table.exited).exitCode).toBe(0);
    expect(table.output()).toMatch(/ID\s+CREATED\s+CURRENT\s+COMMENT/);
    expect(table.output()).toMatch(/v0\s+\S+ \(\d+s ago\)\s+\*/);
  });
});

describe('restore and running sessions', () => {
  it('kills a session that runs in the sprite, and the exec reports it', async () => {
    await createSprite('cmd-sess');
    writeFileSync(join(home('cmd-sess'), 'f'), 'v0\n');
    expect((await cli(['checkpoint', 'create', 'cmd-sess'])).code).toBe(0);
    const exec = runCli(['exec', 'cmd-sess', '--', 'sh', '-c', 'echo started; exec sleep 300'], { env: engine.env });
    const deadline = Date.now() + 20_000;
    for (;;) {
      const list = (await (await engineFetch(engine, '/v1/sprites/cmd-sess/exec')).json()) as { count: number };
      if (list.count === 1) break;
      if (Date.now() > deadline) throw new Error('the exec session never showed up');
      await new Promise((r) => setTimeout(r, 50));
    }
    const restored = await cli(['checkpoint', 'restore', 'cmd-sess', 'v0', '--force']);
    expect(restored.code).toBe(0);
    const ran = await exec;
    expect(ran.stdout).toBe('started\n');
    expect(ran.code).toBe(128 + 9);
    const after = (await (await engineFetch(engine, '/v1/sprites/cmd-sess/exec')).json()) as { count: number };
    expect(after.count).toBe(0);
  });
});

describe('checkpoint commands against a hostile server', () => {
  const client = isolatedEnv();
  afterAll(() => client.cleanup());
  const env = () => ({ ...client.env, SPRITES_TOKEN: 'hostile-token' });
  const ndjson = (res: import('node:http').ServerResponse) => res.writeHead(200, { 'content-type': 'application/x-ndjson' });
  const line = (e: object) => JSON.stringify({ time: new Date().toISOString(), ...e }) + '\n';

  it('succeeds on a stream that ends with complete (the control case)', async () => {
    script = (res) => {
      ndjson(res);
      res.write(line({ type: 'info', data: 'working' }));
      res.end(line({ type: 'complete', data: 'Checkpoint v8 created' }));
    };
    const r = await runCli(['checkpoint', 'create', 'demo', '--api', hostile.url], { env: env() });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Checkpoint v8 created/);
  });

  it('exits 1 on an error event in a 200 stream, printing the event with --json', async () => {
    script = (res) => {
      ndjson(res);
      res.write(line({ type: 'info', data: 'Restoring from checkpoint v1...' }));
      res.write(line({ type: 'error', error: 'disk exploded' }));
      res.end(line({ type: 'complete', data: 'Restore from v1 complete' }));
    };
    const r = await runCli(['checkpoint', 'restore', 'demo', 'v1', '--force', '--api', hostile.url], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/restore of demo to v1 failed: disk exploded/);
    expect(r.stderr).not.toMatch(/complete/);

    const j = await runCli(['checkpoint', 'create', 'demo', '--json', '--api', hostile.url], { env: env() });
    expect(j.code).toBe(1);
    const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type?: string; error?: unknown });
    expect(lines.some((l) => l.type === 'error' && l.error === 'disk exploded')).toBe(true);
    expect(lines.some((l) => l.type === 'complete')).toBe(false);
  });

  it('exits 1 when the stream is cut mid-line before complete', async () => {
    script = (res) => {
      ndjson(res);
      res.write(line({ type: 'info', data: 'Copying 10 files' }));
      res.write('{"type":"info","da', () => res.destroy());
    };
    const r = await runCli(['checkpoint', 'create', 'demo', '--api', hostile.url], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/result is unknown/);
  });

  it('exits 1 when the stream ends cleanly without complete', async () => {
    script = (res) => {
      ndjson(res);
      res.end(line({ type: 'info', data: 'Restoring from checkpoint v1...' }));
    };
    const r = await runCli(['checkpoint', 'restore', 'demo', 'v1', '--force', '--api', hostile.url], { env: env() });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ended the stream without reporting completion/);
  });
});
