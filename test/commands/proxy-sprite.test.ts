// `sprites proxy` to servers started inside a sprite with `sprites exec`, under the engine's
// default isolation (the sandbox where this machine allows it, else host processes).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { createServer, type Socket } from 'node:net';
import { BIN, ROOT, engineFetch, runCli, startEngine, type TestEngine } from '../helpers/cli.js';
import { closeOutcome, dial, patternBytes, sha256, waitUntil } from '../helpers/tcp.js';

/** Three servers on the sprite's 127.0.0.1: HTTP (reversed body + sha header), echo, and a line protocol. */
const SERVERS = `
const net = require('net'), http = require('http'), crypto = require('crypto');
const web = http.createServer((req, res) => {
  const c = [];
  req.on('data', (d) => c.push(d));
  req.on('end', () => {
    const b = Buffer.concat(c);
    res.writeHead(200, { 'x-sha': crypto.createHash('sha256').update(b).digest('hex') });
    res.end(Buffer.from(b).reverse());
  });
});
const echo = net.createServer((s) => { s.on('error', () => {}); s.pipe(s); });
const lines = net.createServer({ allowHalfOpen: true }, (s) => {
  let buf = '';
  s.on('error', () => {});
  s.on('end', () => { if (s.writable) s.end('BYE\\n'); });
  s.on('data', (d) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line === 'QUIT') return void s.end('BYE\\n');
      s.write(line.toUpperCase() + '\\n');
    }
  });
});
let n = 0;
const ready = () => {
  if (++n === 3) console.log(JSON.stringify({ http: web.address().port, echo: echo.address().port, lines: lines.address().port }));
};
for (const s of [web, echo, lines]) s.listen(0, '127.0.0.1', ready);
`;

let engine: TestEngine & { cleanup(): void };
let servers: ChildProcess;
let ports: { http: number; echo: number; lines: number };
const children = new Set<ChildProcess>();

function cli(args: string[]): { child: ChildProcess; lines: string[]; stderr(): string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: engine.env, cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => lines.push(l));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, stderr: () => stderr, exited };
}

/** Start `sprites proxy demo 0:PORT...`; resolves with the local ports once it listens. */
async function proxy(...remotePorts: number[]) {
  const run = cli(['proxy', 'demo', ...remotePorts.map((p) => `0:${p}`)]);
  await waitUntil(() => run.lines.length >= remotePorts.length || run.child.exitCode !== null, 'forwarding lines');
  const local = run.lines.map((l) => Number(/^Forwarding 127\.0\.0\.1:(\d+) -> demo:/.exec(l)?.[1]));
  expect(local.every((p) => p > 0), run.stderr()).toBe(true);
  return { ...run, local };
}

beforeAll(async () => {
  engine = await startEngine();
  const res = await engineFetch(engine, '/v1/sprites', { method: 'POST', body: JSON.stringify({ name: 'demo' }), headers: { 'content-type': 'application/json' } });
  expect(res.status).toBe(201);
  const run = cli(['exec', 'demo', '--', 'node', '-e', SERVERS]);
  servers = run.child;
  await waitUntil(() => run.lines.length > 0 || run.child.exitCode !== null, 'the servers in the sprite', 30_000);
  expect(run.lines.length, run.stderr()).toBeGreaterThan(0);
  ports = JSON.parse(run.lines[0]!);
});

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await engine?.stop();
  engine?.cleanup();
});

describe('sprites proxy to servers in the sprite', () => {
  it('carries HTTP requests with byte-exact bodies', async () => {
    const p = await proxy(ports.http);
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    for (const [i, size] of [0, 1, 4096, 65_537, 2_000_001].entries()) {
      const body = patternBytes(size, 50 + i);
      for (const agent of [keepAlive, false] as const) {
        const r = await new Promise<{ sha: string; body: Buffer }>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: p.local[0], method: 'POST', path: '/', agent }, (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => resolve({ sha: String(res.headers['x-sha']), body: Buffer.concat(chunks) }));
          });
          req.on('error', reject);
          req.end(body);
        });
        expect(r.sha).toBe(sha256(body));
        expect(r.body.equals(Buffer.from(body).reverse())).toBe(true);
      }
    }
    keepAlive.destroy();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('serves 200 concurrent connections', async () => {
    const p = await proxy(ports.echo);
    const ok = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        const payload = patternBytes(8 * 1024 + i, 300 + i);
        const s: Socket = await dial(p.local[0]!);
        const got: Buffer[] = [];
        let n = 0;
        const done = new Promise<void>((resolve, reject) => {
          s.on('data', (c: Buffer) => {
            got.push(c);
            n += c.length;
            if (n >= payload.length) resolve();
          });
          s.once('error', reject);
        });
        s.write(payload);
        await done;
        s.destroy();
        return Buffer.concat(got).equals(payload);
      }),
    );
    expect(ok.filter((x) => !x)).toEqual([]);
    p.child.kill('SIGINT');
    expect(await p.exited).toBe(0);
  });

  it('-W bridges stdin/stdout to a line protocol until the server closes', async () => {
    const run = cli(['proxy', 'demo', '-W', String(ports.lines)]);
    run.child.stdin!.write('hello\n');
    await waitUntil(() => run.lines.includes('HELLO'), 'the first answer');
    run.child.stdin!.write('sprites\nQUIT\n');
    expect(await run.exited).toBe(0);
    expect(run.lines).toEqual(['HELLO', 'SPRITES', 'BYE']);
    expect(run.stderr()).toBe('');
  });

  it('-W: EOF on stdin half-closes, and the answer still arrives', async () => {
    const r = await runCli(['proxy', 'demo', '-W', `localhost:${ports.lines}`], { env: engine.env, input: 'one\ntwo\n' });
    expect(r.stdout).toBe('ONE\nTWO\nBYE\n');
    expect(r.code).toBe(0);
  });

  it('closes the local connection when nothing listens on the port, and keeps serving', async () => {
    const p = await proxy(1, ports.echo);
    const s = await dial(p.local[0]!);
    expect(['end', 'error', 'close']).toContain(await closeOutcome(s));
    await waitUntil(() => /Connection 1 .*demo:1/.test(p.stderr()), 'the notice');
    const e = await dial(p.local[1]!);
    e.write('alive');
    expect(await new Promise<string>((resolve) => e.once('data', (c: Buffer) => resolve(c.toString())))).toBe('alive');
    e.destroy();
    p.child.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('exec --port-forward tunnels a port the command opens, through the same proxy client', async () => {
    const port = await freeLocalPort();
    const run = cli(['exec', 'demo', '--port-forward', '--', 'node', '-e', `require('net').createServer((s) => s.pipe(s)).listen(${port}, '127.0.0.1')`]);
    await waitUntil(() => run.stderr().includes(`forwarding 127.0.0.1:${port}`), 'the forwarding notice', 30_000);
    const s = await dial(port);
    const payload = patternBytes(300_000, 77);
    const got: Buffer[] = [];
    await new Promise<void>((resolve) => {
      s.on('data', (c: Buffer) => {
        got.push(c);
        if (Buffer.concat(got).length >= payload.length) resolve();
      });
      s.write(payload);
    });
    expect(Buffer.concat(got).equals(payload)).toBe(true);
    s.destroy();
    run.child.kill('SIGKILL');
  });
});

function freeLocalPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

void servers;
