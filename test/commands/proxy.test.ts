// `sprites proxy` end to end: the real binary, a real engine, real TCP servers, real tunnels.
// The target servers run in this test process, where they can be instrumented (hashes, pauses,
// resets), so the engine runs sprites as host processes: the sprite's localhost is this machine's
// loopback. proxy-sprite.test.ts covers servers started inside a sprite with `sprites exec`.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { request, Agent } from 'node:http';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createInterface } from 'node:readline';
import type { AddressInfo, Socket } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ROOT, engineFetch, runCli, startEngine, type TestEngine } from '../helpers/cli.js';
import { runCliPty } from '../helpers/pty.js';
import { closeOutcome, dial, echoServer, listenTcp, patternBytes, readAll, settledValue, sha256, waitUntil, type TestServer } from '../helpers/tcp.js';

let engine: TestEngine & { cleanup(): void };
let echo: TestServer;
const running = new Set<ChildProcess>();

beforeAll(async () => {
  engine = await startEngine(undefined, ['--isolation', 'host']);
  const res = await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name: 'demo' }), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(201);
  echo = await echoServer();
});

afterEach(() => {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
});

afterAll(async () => {
  await echo?.close();
  await engine?.stop();
  engine?.cleanup();
});

interface ProxyRun {
  child: ChildProcess;
  lines: string[];
  stderr(): string;
  /** Local ports, one per mapping, in order. */
  ports: number[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `sprites proxy ARGS` and wait until it has printed one line per mapping. */
async function startProxy(args: string[], mappings: number, cwd = ROOT): Promise<ProxyRun> {
  const child = spawn(process.execPath, [BIN, 'proxy', ...args], { env: engine.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  let gone = false;
  void exited.then(() => (gone = true));
  await waitUntil(() => lines.length >= mappings || gone, `${mappings} forwarding lines`);
  if (lines.length < mappings) throw new Error(`proxy exited early: ${stderr}`);
  const ports = lines.slice(0, mappings).map((l) => {
    if (l.startsWith('{')) return (JSON.parse(l) as { local_port: number }).local_port;
    const m = /^Forwarding 127\.0\.0\.1:(\d+) -> /.exec(l);
    if (!m) throw new Error(`unexpected line ${JSON.stringify(l)}`);
    return Number(m[1]);
  });
  return { child, lines, stderr: () => stderr, ports, exited };
}

async function stopProxy(p: ProxyRun, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  p.child.kill(signal);
  const { code } = await p.exited;
  return code;
}

/** Whether anything still accepts connections on 127.0.0.1:port. */
async function listening(port: number): Promise<boolean> {
  try {
    (await dial(port)).destroy();
    return true;
  } catch {
    return false;
  }
}

/** Write all of `data` with backpressure, then half-close. */
function sendAll(socket: Socket, data: Buffer, chunk = 1024 * 1024): Promise<void> {
  return new Promise((resolve, reject) => {
    let i = 0;
    const pump = () => {
      while (i < data.length) {
        const ok = socket.write(data.subarray(i, i + chunk));
        i += chunk;
        if (!ok) return void socket.once('drain', pump);
      }
      socket.end(() => resolve());
    };
    socket.once('error', reject);
    pump();
  });
}

describe('sprites proxy: usage', () => {
  it.each([
    [['demo'], /missing port mapping/],
    [['demo', '0'], /invalid port mapping "0"/],
    [['demo', '70000'], /invalid port mapping "70000"/],
    [['demo', 'http'], /invalid port mapping "http"/],
    [['demo', '80:'], /remote port "" is not a number/],
    [['demo', '1:2:3'], /too many colons/],
    [['demo', '8080', '8080:9090'], /local port 8080 is mapped twice/],
    [['demo', '-W', '0'], /invalid --stdio target "0"/],
    [['demo', '-W', 'fe80::1:22'], /IPv6 host in brackets/],
    [['demo', '8080', '-W', '22'], /takes no port mappings/],
    [['Bad_Name', '8080'], /invalid sprite name/],
  ])('sprites proxy %j exits 2', async (args, message) => {
    const r = await runCli(['proxy', ...args], { env: engine.env });
    expect(r.stderr).toMatch(message);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
  });

  it('exits 1 naming the port and the process holding it when the port is in use', async () => {
    const holder = await listenTcp(() => {});
    const r = await runCli(['proxy', 'demo', `${holder.port}:${echo.port}`], { env: engine.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`local port ${holder.port} is already in use`);
    expect(r.stderr).toContain(`pid ${process.pid}`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await holder.close();
  });

  it('exits 1 for a sprite that does not exist, before listening', async () => {
    const r = await runCli(['proxy', 'ghost', '0:80'], { env: engine.env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no sprite named ghost/);
    expect(r.stdout).toBe('');
  });
});

describe('sprites proxy: tunnels', () => {
  it('carries HTTP requests with byte-exact bodies, keep-alive and one connection per request', async () => {
    const http: HttpServer = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        // Answer with the body reversed, so an echo in the tunnel itself could not pass.
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'x-sha': sha256(body) });
        res.end(Buffer.from(body).reverse());
      });
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', () => r()));
    const httpPort = (http.address() as AddressInfo).port;
    const p = await startProxy(['demo', `0:${httpPort}`], 1);
    expect(p.lines[0]).toBe(`Forwarding 127.0.0.1:${p.ports[0]} -> demo:${httpPort}`);

    const post = (body: Buffer, agent: Agent | false) =>
      new Promise<{ status: number; sha: string; body: Buffer }>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: p.ports[0], method: 'POST', path: '/', agent }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, sha: String(res.headers['x-sha']), body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end(body);
      });
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    const sizes = [0, 1, 1000, 65_536, 65_537, 1_000_003];
    for (const [i, size] of sizes.entries()) {
      const body = patternBytes(size, i + 1);
      for (const agent of [keepAlive, false] as const) {
        const r = await post(body, agent);
        expect(r.status).toBe(200);
        expect(r.sha).toBe(sha256(body));
        expect(r.body.equals(Buffer.from(body).reverse())).toBe(true);
      }
    }
    keepAlive.destroy();
    expect(await stopProxy(p)).toBe(0);
    await new Promise<void>((r) => http.close(() => r()));
  });

  it('moves 256 MiB each way at once with equal hashes', async () => {
    const SIZE = 256 * 1024 * 1024;
    const block = patternBytes(4 * 1024 * 1024, 99);
    const stream = (socket: Socket) =>
      new Promise<void>((resolve, reject) => {
        let sent = 0;
        const pump = () => {
          while (sent < SIZE) {
            // Vary each block so a repeated or dropped block changes the hash.
            const chunk = Buffer.from(block);
            chunk.writeUInt32LE(sent / block.length, 0);
            sent += chunk.length;
            if (!socket.write(chunk)) return void socket.once('drain', pump);
          }
          socket.end(() => resolve());
        };
        socket.once('error', reject);
        pump();
      });
    const expected = (() => {
      const chunks: Buffer[] = [];
      for (let i = 0; i < SIZE / block.length; i++) {
        const c = Buffer.from(block);
        c.writeUInt32LE(i, 0);
        chunks.push(c);
      }
      return sha256(chunks);
    })();
    const { createHash } = await import('node:crypto');
    const hashOf = (socket: Socket) =>
      new Promise<{ sha: string; bytes: number }>((resolve, reject) => {
        const h = createHash('sha256');
        let bytes = 0;
        socket.on('data', (c: Buffer) => {
          h.update(c);
          bytes += c.length;
        });
        socket.once('end', () => resolve({ sha: h.digest('hex'), bytes }));
        socket.once('error', reject);
      });
    let serverGot: Promise<{ sha: string; bytes: number }> | undefined;
    const server = await listenTcp((s) => {
      serverGot = hashOf(s);
      void stream(s);
    });
    const p = await startProxy(['demo', `0:${server.port}`], 1);
    const client = await dial(p.ports[0]!);
    const clientGot = hashOf(client);
    await stream(client);
    const [down, up] = await Promise.all([clientGot, waitUntil(() => serverGot !== undefined, 'the server side').then(() => serverGot!)]);
    expect(up.bytes).toBe(SIZE);
    expect(up.sha).toBe(expected);
    expect(down.bytes).toBe(SIZE);
    expect(down.sha).toBe(expected);
    expect(await stopProxy(p)).toBe(0);
    await server.close();
    // 1 GiB crosses three processes here: room for a busy shared machine.
  }, 180_000);

  it('serves 200 concurrent connections', async () => {
    const p = await startProxy(['demo', `0:${echo.port}`], 1);
    const results = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const payload = patternBytes(16 * 1024 + i, 1000 + i);
        const s = await dial(p.ports[0]!);
        const got = readAll(s);
        await sendAll(s, payload);
        return (await got).equals(payload);
      }),
    );
    expect(results.filter((ok) => !ok)).toEqual([]);
    expect(await stopProxy(p)).toBe(0);
  });

  it('survives one connection reset in the middle of others', async () => {
    const VICTIM = Buffer.from('VICTIM');
    const serverSides: Array<{ outcome: Promise<'end' | 'error' | 'close'> }> = [];
    let victimReceived = 0;
    let victimOutcome: Promise<'end' | 'error' | 'close'> | undefined;
    const server = await listenTcp((s) => {
      const chunks: Buffer[] = [];
      let isVictim: boolean | undefined;
      const outcome = closeOutcome(s);
      s.on('data', (c: Buffer) => {
        isVictim ??= c.subarray(0, VICTIM.length).equals(VICTIM);
        if (isVictim) {
          victimOutcome ??= outcome;
          victimReceived += c.length;
        } else chunks.push(c);
      });
      s.on('end', () => s.end(sha256(chunks)));
      serverSides.push({ outcome });
    });
    const p = await startProxy(['demo', `0:${server.port}`], 1);
    const N = 10;
    const payloads = Array.from({ length: N }, (_, i) => patternBytes(4 * 1024 * 1024, 7 + i));
    const sockets = await Promise.all(payloads.map(() => dial(p.ports[0]!)));
    await waitUntil(() => serverSides.length === N, 'every connection at the server');
    const victim = sockets[3]!;
    victim.on('error', () => {});
    const answers = sockets.map((s, i) => (i === 3 ? null : readAll(s)));
    const sends = sockets.map((s, i) => (i === 3 ? null : sendAll(s, payloads[i]!, 64 * 1024)));
    // Reset connection 3 while the others are sending, once its own bytes all went through (a
    // reset with bytes still unread is reported by the kernel as a plain EOF).
    const first = Buffer.concat([VICTIM, patternBytes(1024 * 1024 - VICTIM.length, 3)]);
    victim.write(first);
    await waitUntil(() => victimReceived === first.length, 'the victim\'s bytes at the server');
    victim.resetAndDestroy();
    expect(await victimOutcome).toBe('error');
    await Promise.all(sends);
    for (let i = 0; i < N; i++) {
      if (i === 3) continue;
      expect((await answers[i]!).toString()).toBe(sha256(payloads[i]!));
    }
    const outcomes = await Promise.all(serverSides.map((s) => s.outcome));
    expect(outcomes.filter((o) => o === 'end')).toHaveLength(N - 1);
    // And the proxy still serves new connections.
    const s = await dial(p.ports[0]!);
    const got = readAll(s);
    await sendAll(s, Buffer.from('after the reset'));
    expect((await got).toString()).toBe(sha256(Buffer.from('after the reset')));
    expect(await stopProxy(p)).toBe(0);
    await server.close();
  });

  it('closes the local connection when nothing listens in the sprite, and keeps serving', async () => {
    const closed = await listenTcp(() => {});
    const deadPort = closed.port;
    await closed.close();
    const p = await startProxy(['demo', `0:${deadPort}`, `0:${echo.port}`], 2);
    const s = await dial(p.ports[0]!);
    s.write('anyone there?');
    expect(['end', 'error', 'close']).toContain(await closeOutcome(s));
    await waitUntil(() => /ECONNREFUSED/.test(p.stderr()), 'the notice on stderr');
    expect(p.stderr()).toContain(`demo:${deadPort}`);
    const e = await dial(p.ports[1]!);
    const got = readAll(e);
    await sendAll(e, Buffer.from('still serving'));
    expect((await got).toString()).toBe('still serving');
    expect(p.child.exitCode).toBe(null);
    expect(await stopProxy(p)).toBe(0);
  });

  it('keeps carrying the local bytes after the sprite side has finished sending (half-close asked for)', async () => {
    const received: Buffer[] = [];
    let targetSawEnd = false;
    const server = await listenTcp((s) => {
      s.end('early goodbye');
      s.on('data', (c: Buffer) => received.push(c));
      s.on('end', () => (targetSawEnd = true));
    });
    const p = await startProxy(['demo', `0:${server.port}`], 1);
    const client = await dial(p.ports[0]!);
    // The engine closes the tunnel when the target finishes unless the CLI asked for the eof message.
    expect((await readAll(client)).toString()).toBe('early goodbye');
    const late = patternBytes(2 * 1024 * 1024, 77);
    await sendAll(client, late);
    await waitUntil(() => targetSawEnd, 'the EOF at the target');
    expect(sha256(received)).toBe(sha256(late));
    expect(await stopProxy(p)).toBe(0);
    await server.close();
  });

  it('applies backpressure both ways through the whole chain', async () => {
    let target: Socket | undefined;
    const server = await listenTcp((s) => {
      target = s;
      s.pause();
    });
    const p = await startProxy(['demo', `0:${server.port}`], 1);
    const client = await dial(p.ports[0]!);
    client.pause();
    await waitUntil(() => target !== undefined, 'the target connection');
    const SIZE = 96 * 1024 * 1024;
    // Neither side reads: each sender's own buffer must stay mostly full, not drain into the proxy.
    client.write(patternBytes(SIZE, 1));
    target!.write(patternBytes(SIZE, 2));
    const upStuck = await settledValue(() => client.writableLength);
    const downStuck = await settledValue(() => target!.writableLength);
    expect(upStuck).toBeGreaterThan(SIZE / 2);
    expect(downStuck).toBeGreaterThan(SIZE / 2);
    client.destroy();
    expect(await stopProxy(p)).toBe(0);
    await server.close();
  });

  it('prints JSON lines for the mappings, then one event per connection opened and closed', async () => {
    const p = await startProxy(['demo', `0:${echo.port}`, '--json'], 1);
    const listening = JSON.parse(p.lines[0]!);
    expect(listening).toMatchObject({ type: 'listening', sprite: 'demo', local_address: '127.0.0.1', local_port: p.ports[0], remote_host: 'localhost', remote_port: echo.port });
    expect(listening.addresses[0]).toBe(`127.0.0.1:${p.ports[0]}`);
    const s = await dial(p.ports[0]!);
    const got = readAll(s);
    await sendAll(s, Buffer.from('12345'));
    expect((await got).toString()).toBe('12345');
    await waitUntil(() => p.lines.length >= 3, 'two events');
    const [opened, closed] = p.lines.slice(1, 3).map((l) => JSON.parse(l));
    expect(opened).toMatchObject({ type: 'connection_opened', id: 1, target: `demo:${echo.port}` });
    expect(closed).toMatchObject({ type: 'connection_closed', id: 1, bytes_sent: 5, bytes_received: 5 });
    expect(closed.error).toBeUndefined();
    expect(await stopProxy(p)).toBe(0);
  });

  it('takes the sprite from the .sprite file when only mappings are given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sprites-proxy-ctx-'));
    writeFileSync(join(dir, '.sprite'), JSON.stringify({ sprite: 'demo', organization: 'local' }));
    try {
      const p = await startProxy([`0:${echo.port}`, `0:${echo.port}`], 2, dir);
      expect(p.lines[1]).toBe(`Forwarding 127.0.0.1:${p.ports[1]} -> demo:${echo.port}`);
      expect(await stopProxy(p)).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('listens only on the --bind address', async () => {
    const p = await startProxy(['demo', `0:${echo.port}`, '--bind', '127.0.0.1', '--json'], 1);
    expect(JSON.parse(p.lines[0]!).addresses).toEqual([`127.0.0.1:${p.ports[0]}`]);
    expect(p.stderr()).not.toMatch(/Warning/);
    expect(await stopProxy(p)).toBe(0);
  });

  it('reaches --remote-host inside the sprite', async () => {
    const p = await startProxy(['demo', `0:${echo.port}`, '--remote-host', '127.0.0.1'], 1);
    expect(p.lines[0]).toBe(`Forwarding 127.0.0.1:${p.ports[0]} -> demo:127.0.0.1:${echo.port}`);
    const s = await dial(p.ports[0]!);
    const got = readAll(s);
    await sendAll(s, Buffer.from('via 127.0.0.1'));
    expect((await got).toString()).toBe('via 127.0.0.1');
    expect(await stopProxy(p)).toBe(0);
  });
});

describe('sprites proxy -W', () => {
  it('bridges stdin/stdout to a line protocol; stdin EOF half-closes, the remote close ends the CLI', async () => {
    const server = await listenTcp((s) => {
      let buf = '';
      s.on('data', (c: Buffer) => {
        buf += c.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          s.write(buf.slice(0, nl).toUpperCase() + '\n');
          buf = buf.slice(nl + 1);
        }
      });
      s.on('end', () => s.end('BYE\n'));
    });
    const r = await runCli(['proxy', 'demo', '-W', `localhost:${server.port}`], { env: engine.env, input: 'one\ntwo\nthree\n' });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('ONE\nTWO\nTHREE\nBYE\n');
    expect(r.code).toBe(0);
    await server.close();
  });

  it('exits 1 with the reason when the port cannot be reached', async () => {
    const closed = await listenTcp(() => {});
    const port = closed.port;
    await closed.close();
    const r = await runCli(['proxy', 'demo', '--stdio', String(port)], { env: engine.env, input: 'x' });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`localhost:${port}.*ECONNREFUSED`));
    expect(r.stdout).toBe('');
  });
});

describe('sprites proxy: shutdown', () => {
  it('Ctrl-C at a terminal exits 0 and leaves no listener', async () => {
    const run = runCliPty(['proxy', 'demo', `0:${echo.port}`], { env: engine.env });
    const out = await run.waitFor(/Forwarding 127\.0\.0\.1:(\d+) -> demo:/);
    const port = Number(/Forwarding 127\.0\.0\.1:(\d+) -> demo:/.exec(out)![1]);
    await run.waitFor('Ctrl-C to stop');
    expect(await listening(port)).toBe(true);
    run.write('\x03');
    expect((await run.exited).exitCode).toBe(0);
    expect(await listening(port)).toBe(false);
  });

  it('SIGTERM with connections open exits 0, closes them, and leaves no listener', async () => {
    const p = await startProxy(['demo', `0:${echo.port}`], 1);
    const s = await dial(p.ports[0]!);
    s.write('hello');
    const echoed = await new Promise<string>((resolve) => s.once('data', (c: Buffer) => resolve(c.toString())));
    expect(echoed).toBe('hello');
    const outcome = closeOutcome(s);
    expect(await stopProxy(p, 'SIGTERM')).toBe(0);
    expect(['end', 'error', 'close']).toContain(await outcome);
    expect(await listening(p.ports[0]!)).toBe(false);
  });

  it('SIGINT exits 0', async () => {
    const p = await startProxy(['demo', `0:${echo.port}`], 1);
    expect(await stopProxy(p, 'SIGINT')).toBe(0);
    expect(await listening(p.ports[0]!)).toBe(false);
  });
});
