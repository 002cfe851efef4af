// The engine's exec over real sockets: WebSocket and HTTP exec, framing, env, dir, signals,
// PTYs, sessions list, disconnect handling and port events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEngine, engineFetch, spriteHomePattern, type TestEngine } from '../helpers/cli.js';
import { eventually, execUrl, openExec } from './exec-client.js';

let engine: TestEngine & { cleanup(): void };
const SPRITE = 'ex';

beforeAll(async () => {
  engine = await startEngine();
  const res = await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name: SPRITE }), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await engine?.stop();
  engine?.cleanup();
});

/** The sprite home: /home/sprite in a sandbox, its directory under the data dir on the host driver. */
const cmd = (...argv: string[]): Array<[string, string]> => argv.map((a) => ['cmd', a]);

describe('WebSocket exec', () => {
  it('sends session_info first, keeps stdout and stderr apart, ends with the exit frame, advertises signal', async () => {
    const ex = await openExec(engine, execUrl(engine, SPRITE, cmd('sh', '-c', 'echo out; echo err >&2; exit 3')));
    expect(ex.headers['x-sprite-capabilities']).toBe('signal');
    await ex.waitFor(() => ex.exitCode() !== undefined, 'exit');
    expect(ex.texts[0]).toMatchObject({ type: 'session_info', tty: false, is_owner: true, command: 'sh -c echo out; echo err >&2; exit 3' });
    expect(typeof ex.texts[0]!.session_id).toBe('string');
    expect(ex.stdout()).toBe('out\n');
    expect(ex.stderr()).toBe('err\n');
    expect(ex.exitCode()).toBe(3);
    expect(ex.binaries[ex.binaries.length - 1]).toEqual(Buffer.from([3, 3]));
  });

  it('keeps output exact while a client that stopped reading holds it queued (the pipe read buffer is reused)', async () => {
    const ex = await openExec(engine, execUrl(engine, SPRITE, cmd('seq', '1', '600000')));
    // A client that does not read: the engine queues up to its high-water mark and pauses the
    // command. Whatever the timing, the bytes must come out exact once it reads again.
    ex.ws.pause();
    await new Promise((resolve) => setTimeout(resolve, 300));
    ex.ws.resume();
    await ex.waitFor(() => ex.exitCode() !== undefined, 'exit', 30_000);
    const expected = Array.from({ length: 600000 }, (_, i) => `${i + 1}\n`).join('');
    expect(ex.stdout().length).toBe(expected.length);
    expect(ex.stdout() === expected).toBe(true);
    expect(ex.exitCode()).toBe(0);
    // The scrollback kept its own copy too: a later attach replays the last MiB exactly.
    const later = await openExec(engine, execUrl(engine, SPRITE, [], `/${String(ex.texts[0]!.session_id)}`));
    await later.waitFor(() => later.exitCode() !== undefined, 'exit of the attach', 30_000);
    expect(later.stdout().length).toBe(1024 * 1024);
    expect(later.stdout() === expected.slice(-1024 * 1024)).toBe(true);
  });

  it('forwards stdin until the EOF frame, the way @fly/sprites calls it (stdin=true, path)', async () => {
    const ex = await openExec(engine, execUrl(engine, SPRITE, [...cmd('cat'), ['path', 'cat'], ['stdin', 'true']]));
    ex.ws.send(Buffer.from([0, ...Buffer.from('hello ')]));
    ex.ws.send(Buffer.from([0, ...Buffer.from('world')]));
    ex.ws.send(Buffer.from([4]));
    await ex.waitFor(() => ex.exitCode() !== undefined, 'exit');
    expect(ex.stdout()).toBe('hello world');
    expect(ex.exitCode()).toBe(0);
    ex.ws.close(1000);
  });

  it('closes stdin at once when the client does not wire it', async () => {
    const ex = await openExec(engine, execUrl(engine, SPRITE, cmd('cat')));
    await ex.waitFor(() => ex.exitCode() !== undefined, 'exit');
    expect(ex.exitCode()).toBe(0);
  });

  it('reports 128+n for a signal death, 127 for a missing program, 126 for a non-executable one', async () => {
    for (const [argv, code] of [
      [['sh', '-c', 'kill -KILL $$'], 137],
      [['no-such-program-here'], 127],
      [['/etc/passwd'], 126],
    ] as const) {
      const ex = await openExec(engine, execUrl(engine, SPRITE, cmd(...argv)));
      await ex.waitFor(() => ex.exitCode() !== undefined, `exit of ${argv.join(' ')}`);
      expect(ex.exitCode()).toBe(code);
    }
  });

  it('uses the sprite home and a default env, and env= replaces it entirely', async () => {
    const def = await openExec(engine, execUrl(engine, SPRITE, cmd('sh', '-c', 'pwd; echo "$HOME"; echo "${PATH:+has-path}"; echo "${FOO:-no-foo}"')));
    await def.waitFor(() => def.exitCode() !== undefined, 'exit');
    const [pwd, home, path, foo] = def.stdout().trim().split('\n');
    expect(pwd).toMatch(await spriteHomePattern(engine, SPRITE));
    expect(home).toBe(pwd);
    expect(path).toBe('has-path');
    expect(foo).toBe('no-foo');

    const env = await openExec(
      engine,
      execUrl(engine, SPRITE, [...cmd('/usr/bin/env'), ['env', 'FOO=a=b,c'], ['env', 'BAR='], ['dir', '/tmp']]),
    );
    await env.waitFor(() => env.exitCode() !== undefined, 'exit');
    // A driver that starts commands through a shell `cd` may add PWD and OLDPWD; nothing else.
    const vars = env.stdout().trim().split('\n').filter((l) => !/^(OLD)?PWD=/.test(l)).sort();
    expect(vars).toEqual(['BAR=', 'FOO=a=b,c']);
    const pwd2 = await openExec(engine, execUrl(engine, SPRITE, [...cmd('/bin/pwd'), ['env', 'X=1'], ['dir', '/tmp']]));
    await pwd2.waitFor(() => pwd2.exitCode() !== undefined, 'exit');
    expect(pwd2.stdout()).toBe('/tmp\n');
  });

  it('takes /home/sprite (dir and HOME) as the sprite home on every driver, and refuses a missing dir with 400', async () => {
    const ex = await openExec(engine, execUrl(engine, SPRITE, [...cmd('/bin/sh', '-c', 'pwd; echo $HOME'), ['env', 'HOME=/home/sprite'], ['dir', '/home/sprite']]));
    await ex.waitFor(() => ex.exitCode() !== undefined, 'exit');
    const [pwd, home] = ex.stdout().trim().split('\n');
    expect(pwd).toMatch(await spriteHomePattern(engine, SPRITE));
    expect(home).toBe(pwd);
    await expect(openExec(engine, execUrl(engine, SPRITE, [...cmd('ls'), ['dir', '/no/such/dir']]))).rejects.toMatchObject({ status: 400 });
  });

  it('refuses a missing command with 400 and an unknown sprite with 404', async () => {
    await expect(openExec(engine, execUrl(engine, SPRITE, []))).rejects.toMatchObject({ status: 400, body: expect.stringContaining('No command specified') });
    await expect(openExec(engine, execUrl(engine, 'nosuch', cmd('true')))).rejects.toMatchObject({ status: 404 });
  });

  it('delivers signal messages to the process group', async () => {
    const ex = await openExec(engine, execUrl(engine, SPRITE, cmd('sh', '-c', 'echo ready; sleep 30 & wait')));
    await ex.waitFor(() => ex.stdout().includes('ready'), 'ready');
    ex.ws.send(JSON.stringify({ type: 'signal', signal: 'TERM' }));
    await ex.waitFor(() => ex.exitCode() !== undefined, 'exit');
    expect(ex.exitCode()).toBe(143);
  });

  it('runs a PTY: raw terminal bytes, initial size, resize, JSON exit', async () => {
    const ex = await openExec(engine, execUrl(engine, SPRITE, [...cmd('sh', '-c', 'stty size; read line; stty size; exit 4'), ['tty', 'true'], ['rows', '30'], ['cols', '100']]));
    const out = () => Buffer.concat(ex.binaries).toString('utf8');
    await ex.waitFor(() => out().includes('30 100'), 'initial size');
    expect(ex.texts[0]).toMatchObject({ type: 'session_info', tty: true, rows: 30, cols: 100 });
    ex.ws.send(JSON.stringify({ type: 'resize', cols: 90, rows: 20 }));
    ex.ws.send(Buffer.from('go\r'));
    await ex.waitFor(() => ex.exitCode() !== undefined, 'exit');
    expect(out()).toContain('20 90');
    expect(ex.texts.find((t) => t.type === 'exit')).toEqual({ type: 'exit', exit_code: 4 });
  });

  it('lists sessions and stops a non-TTY one max_run_after_disconnect after its client left', async () => {
    const ex = await openExec(engine, execUrl(engine, SPRITE, [...cmd('sleep', '60'), ['max_run_after_disconnect', '200ms']]));
    await ex.waitFor(() => ex.texts.length > 0, 'session_info');
    const id = ex.texts[0]!.session_id as string;
    const list = (await (await engineFetch(engine, `/v1/sprites/${SPRITE}/exec`)).json()) as { sessions: Array<Record<string, unknown>>; count: number };
    expect(list.count).toBe(list.sessions.length);
    expect(list.sessions.find((s) => s.id === id)).toMatchObject({ command: 'sleep 60', is_active: true, tty: false, workdir: expect.any(String), created: expect.any(String) });
    ex.ws.terminate();
    await eventually(async () => {
      const now = (await (await engineFetch(engine, `/v1/sprites/${SPRITE}/exec`)).json()) as { sessions: Array<Record<string, unknown>> };
      return now.sessions.find((s) => s.id === id)?.is_active === false ? true : undefined;
    }, 'the session to stop after the disconnect');
  });

  it('sends port_opened and port_closed for a port the command listens on, to the session and to ports/watch', async () => {
    const watch = await openExec(engine, `${engine.url.replace(/^http/, 'ws')}/v1/sprites/${SPRITE}/ports/watch`);
    await watch.waitFor(() => watch.texts.length > 0, 'port_list');
    expect(watch.texts[0]).toEqual({ type: 'port_list', ports: [] });
    const script = 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen(); print(s.getsockname()[1], flush=True); sys.stdin.read(); s.close(); sys.stdin.read()';
    const ex = await openExec(engine, execUrl(engine, SPRITE, [...cmd('python3', '-c', script), ['stdin', 'true']]));
    await ex.waitFor(() => /\d+\n/.test(ex.stdout()), 'the port number');
    const port = Number(ex.stdout().trim());
    await ex.waitFor(() => ex.texts.some((t) => t.type === 'port_opened' && t.port === port), 'port_opened');
    expect(ex.texts.find((t) => t.type === 'port_opened')).toMatchObject({ port, address: '127.0.0.1', pid: expect.any(Number) });
    ex.ws.send(Buffer.from([4]));
    await ex.waitFor(() => ex.texts.some((t) => t.type === 'port_closed' && t.port === port) || ex.exitCode() !== undefined, 'port_closed');
    expect(ex.texts.some((t) => t.type === 'port_closed' && t.port === port)).toBe(true);
    await watch.waitFor(() => watch.texts.some((t) => t.type === 'port_closed' && t.port === port), 'port_closed on ports/watch');
    expect(watch.texts.some((t) => t.type === 'port_opened' && t.port === port)).toBe(true);
    watch.ws.close();
  });
});

describe('HTTP exec', () => {
  it('streams the same frames as the WebSocket, with the body as stdin', async () => {
    const res = await engineFetch(engine, `/v1/sprites/${SPRITE}/exec?cmd=sh&cmd=-c&cmd=${encodeURIComponent('cat; echo err >&2; exit 2')}&stdin=true`, {
      method: 'POST',
      body: 'from-body',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(bytes.byteLength - 2)).toEqual(Buffer.from([3, 2]));
    expect(bytes.includes(Buffer.from('\x01from-body'))).toBe(true);
    expect(bytes.includes(Buffer.from('\x02err\n'))).toBe(true);
  });

  it('refuses tty with 400', async () => {
    const res = await engineFetch(engine, `/v1/sprites/${SPRITE}/exec?cmd=true&tty=true`, { method: 'POST' });
    expect(res.status).toBe(400);
  });
});
