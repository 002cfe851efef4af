// The sandbox driver on its own: namespaces, overlay root, hostname, shared process space, spawn
// (pipes and PTY) and dial, against real processes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SpriteStore } from '../../src/engine/store.js';
import { SandboxDriver } from '../../src/engine/drivers/sandbox.js';
import { sandboxUnavailable } from '../../src/engine/sandbox/probe.js';
import type { SpriteProcess } from '../../src/engine/driver.js';

const unavailable = await sandboxUnavailable();

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

function collect(proc: SpriteProcess): Promise<Ran> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    proc.onStdout((c) => (stdout += c.toString()));
    proc.onStderr((c) => (stderr += c.toString()));
    proc.onExit((code) => resolve({ code, stdout, stderr }));
  });
}

describe.skipIf(unavailable !== undefined)('sandbox driver', () => {
  let dir: string;
  let store: SpriteStore;
  let driver: SandboxDriver;

  const spawn = (sprite: string, script: string, opts: { tty?: boolean; cwd?: string } = {}): SpriteProcess => {
    const proc = driver.spawn({
      sprite,
      argv: ['/bin/sh', '-c', script],
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/home/sprite' },
      cwd: opts.cwd ?? '/home/sprite',
      tty: opts.tty ?? false,
      cols: 80,
      rows: 24,
      hostHome: store.homeDirOf(sprite),
    });
    proc.endStdin();
    return proc;
  };
  const run = (sprite: string, script: string, opts: { tty?: boolean; cwd?: string } = {}) => collect(spawn(sprite, script, opts));

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sprites-sandbox-test-'));
    store = new SpriteStore(join(dir, 'data'));
    await store.load();
    await store.create({ name: 'alpha' });
    await store.create({ name: 'beta' });
    driver = new SandboxDriver({ store, hidden: [join(dir, 'data')], networkPolicy: async () => ({ rules: [] }), privilegesPolicy: async () => ({}), resourcesPolicy: async () => ({}) });
    await Promise.all([driver.prepare('alpha'), driver.prepare('beta')]);
  });

  afterAll(async () => {
    await driver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps a file written to /opt across commands and a torn-down, re-prepared sprite', async () => {
    expect(await run('alpha', 'echo durable > /opt/marker && cat /opt/marker')).toMatchObject({ code: 0, stdout: 'durable\n' });
    expect(await run('alpha', 'cat /opt/marker')).toMatchObject({ code: 0, stdout: 'durable\n' });
    // The file lives in the sprite's disk, the overlay's upper layer.
    expect(readFileSync(join(store.fsDirOf('alpha'), 'opt', 'marker'), 'utf8')).toBe('durable\n');
    await driver.release('alpha');
    await driver.prepare('alpha');
    expect(await run('alpha', 'cat /opt/marker')).toMatchObject({ code: 0, stdout: 'durable\n' });
  });

  it('starts in /home/sprite, the home directory on the sprite disk', async () => {
    const ran = await run('alpha', 'pwd; echo home > note');
    expect(ran).toMatchObject({ code: 0, stdout: '/home/sprite\n' });
    expect(readFileSync(join(store.homeDirOf('alpha'), 'note'), 'utf8')).toBe('home\n');
  });

  it('names the host after the sprite', async () => {
    expect(await run('alpha', 'hostname')).toMatchObject({ code: 0, stdout: 'alpha\n' });
    expect(await run('beta', 'hostname')).toMatchObject({ code: 0, stdout: 'beta\n' });
  });

  it('gives each sprite its own files, process space and /tmp, and hides the engine data', async () => {
    await run('alpha', 'echo mine > /opt/alpha-only; echo t > /tmp/alpha-tmp');
    const sleeper = spawn('alpha', 'exec sleep 300');
    try {
      // The same sprite shares one process space: a second command sees the first (once it has
      // made its way through nsenter and the supervisor to the sleep itself).
      let seen = await run('alpha', 'ps -eo args');
      for (const deadline = Date.now() + 15_000; !seen.stdout.includes('sleep 300') && Date.now() < deadline; ) {
        seen = await run('alpha', 'ps -eo args');
      }
      expect(seen.stdout).toContain('sleep 300');
      const other = await run('beta', 'ps -eo args; ls /opt/alpha-only /tmp/alpha-tmp 2>&1; ls ' + JSON.stringify(join(dir, 'data')));
      expect(other.stdout).not.toContain('sleep 300');
      expect(other.stdout).toMatch(/alpha-only'?: No such file/);
      expect(other.stdout).toMatch(/alpha-tmp'?: No such file/);
      // The engine's data dir (every sprite's disk) is an empty directory inside.
      expect(other.stdout.trim().split('\n').pop()).not.toMatch(/sprites/);
      expect(existsSync(join(store.fsDirOf('beta'), 'opt', 'alpha-only'))).toBe(false);
    } finally {
      sleeper.kill('SIGKILL');
      await collect(sleeper);
    }
  });

  it('reports a signal death as 128+n and a plain exit code as is', async () => {
    expect((await run('alpha', 'exit 7')).code).toBe(7);
    const sleeper = spawn('alpha', 'exec sleep 300');
    const done = collect(sleeper);
    // Wait until the program runs inside before signalling it.
    for (let i = 0; i < 200 && !(await run('alpha', 'ps -eo args')).stdout.includes('sleep 300'); i++);
    sleeper.kill('SIGTERM');
    expect((await done).code).toBe(143);
  });

  it('runs a command under a PTY', async () => {
    const ran = await run('beta', 'test -t 0 && echo tty-yes; hostname', { tty: true });
    expect(ran.code).toBe(0);
    expect(ran.stdout).toContain('tty-yes');
    expect(ran.stdout).toContain('beta');
  });

  it('dials the sprite’s own localhost, not the host’s', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = spawn(
      'alpha',
      `exec node -e 'require("net").createServer((s) => s.pipe(s)).listen(${port}, "127.0.0.1", () => console.log("up"))'`,
    );
    const up = new Promise<void>((resolve) => server.onStdout((c) => c.toString().includes('up') && resolve()));
    try {
      await up;
      const conn = await driver.dial('alpha', 'localhost', port);
      const echoed = new Promise<string>((resolve) => conn.once('data', (c: Buffer) => resolve(c.toString())));
      conn.write('ping');
      expect(await echoed).toBe('ping');
      conn.destroy();
      await expect(driver.dial('beta', 'localhost', port)).rejects.toThrow(/ECONNREFUSED/);
      // The listener shows in the sprite's own network namespace, owned by the command's process tree.
      const ports = await driver.listeningPorts('alpha', [server.pid]);
      expect(ports.map((p) => [p.port, p.address])).toEqual([[port, '127.0.0.1']]);
      expect(await driver.listeningPorts('beta', [server.pid])).toEqual([]);
    } finally {
      server.kill('SIGKILL');
      await collect(server);
    }
  });

  it('hands over the target connection itself: the first bytes, half-close both ways, and a reset', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    // A banner at once (the agent must not have read it), an answer only after the client's EOF,
    // and each connection's error code printed (a reset must arrive as one, not as a clean end).
    const server = spawn(
      'alpha',
      `exec node -e 'require("net").createServer({ allowHalfOpen: true }, (s) => { let n = 0; s.write("banner;"); s.on("data", (c) => (n += c.length)); s.on("end", () => s.end("got " + n)); s.on("error", (e) => console.log(e.code)); }).listen(${port}, "127.0.0.1", () => console.log("up"))'`,
    );
    let out = '';
    const up = new Promise<void>((resolve) => server.onStdout((c) => (out += c.toString()).includes('up') && resolve()));
    try {
      await up;
      const conn = (await driver.dial('alpha', 'localhost', port)) as import('node:net').Socket;
      const answer = new Promise<string>((resolve) => {
        let got = '';
        conn.on('data', (c: Buffer) => (got += c.toString()));
        conn.once('end', () => resolve(got));
      });
      conn.end('x'.repeat(100_000));
      expect(await answer).toBe('banner;got 100000');
      conn.destroy();

      const doomed = (await driver.dial('alpha', 'localhost', port)) as import('node:net').Socket;
      doomed.write('y');
      doomed.resetAndDestroy();
      const deadline = Date.now() + 10_000;
      while (!out.includes('ECONNRESET') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(out).toContain('ECONNRESET');
    } finally {
      server.kill('SIGKILL');
      await collect(server);
    }
  });

  it('holds 200 concurrent dials', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const server = spawn(
      'beta',
      `exec node -e 'require("net").createServer((s) => s.pipe(s)).listen(${port}, "127.0.0.1", () => console.log("up"))'`,
    );
    const up = new Promise<void>((resolve) => server.onStdout((c) => c.toString().includes('up') && resolve()));
    try {
      await up;
      const conns = await Promise.all(Array.from({ length: 200 }, () => driver.dial('beta', '127.0.0.1', port)));
      const replies = await Promise.all(
        conns.map(
          (conn, i) =>
            new Promise<string>((resolve) => {
              let got = '';
              conn.on('data', (c: Buffer) => {
                got += c.toString();
                if (got.length >= String(i).length + 1) resolve(got);
              });
              conn.write(`${i};`);
            }),
        ),
      );
      expect(replies).toEqual(conns.map((_, i) => `${i};`));
      for (const conn of conns) conn.destroy();
    } finally {
      server.kill('SIGKILL');
      await collect(server);
    }
  });

  it('can hold a test server on the host unreachable from inside', async () => {
    const server: Server = createServer((s) => s.end('host'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    const port = (server.address() as { port: number }).port;
    try {
      const ran = await run('alpha', `exec node -e 'require("net").connect(${port}, "127.0.0.1").on("error", (e) => { console.log(e.code); }).on("data", (d) => console.log(String(d)))'`);
      expect(ran.stdout.trim()).toBe('ECONNREFUSED');
    } finally {
      server.close();
    }
  });
});
