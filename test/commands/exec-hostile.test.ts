// `sprites exec` (the real binary) against hostile exec WebSocket servers: every misbehaviour is a
// one-line error and exit 255, in bounded time and memory; never exit 0, never a stack trace.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer, type WebSocket } from 'ws';
import { isolatedEnv, runCli, type RunResult } from '../helpers/cli.js';
import { startSilentServer } from '../helpers/hostile.js';
import { keepaliveIntervalMs, PING_INTERVAL_MS } from '../../src/lib/exec.js';

const SECRET = 'sk_live_exec_hostile_0123456789abcdef';
const home = isolatedEnv();
const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  await Promise.all(closers.map((c) => c()));
  home.cleanup();
});

/** A `ws` server on 127.0.0.1 that plays the exec endpoint with the given script (no automatic pongs). */
async function wsServer(script: (ws: WebSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    script(ws);
  });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(wss.address() as AddressInfo).port}`;
}

/** An HTTP server that completes the upgrade by hand and then writes raw bytes on the socket. */
async function rawServer(script: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => res.end());
  server.on('upgrade', (req: IncomingMessage, socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    const accept = createHash('sha1')
      .update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
      .digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    script(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  closers.push(
    () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function exec(url: string, extraEnv: Record<string, string> = {}): Promise<RunResult> {
  return runCli(['exec', '--api', url, 'box', '--', 'echo', 'hi'], { env: { ...home.env, SPRITES_TOKEN: SECRET, ...extraEnv }, timeoutMs: 20_000 });
}

/** The contract for every hostile case: 255, one `Error:` line matching `message`, no trace, no token. */
function expectFailure(r: RunResult, message: RegExp): void {
  expect(r.code, r.stderr).toBe(255);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('Error:'));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(message);
  expect(r.stderr).not.toMatch(/^\s+at /m);
  expect(r.stdout + r.stderr).not.toContain(SECRET);
}

const info = JSON.stringify({ type: 'session_info', session_id: 7, command: 'echo hi', created: 0, cols: 80, rows: 24, is_owner: true, tty: false });

describe('sprites exec against hostile WebSocket servers', () => {
  it('the harness itself: a well-behaved server gives the output and its exit code', async () => {
    const url = await wsServer((ws) => {
      ws.send(info);
      ws.send(Buffer.from('\x01hi\n', 'latin1'));
      ws.send(Buffer.from([0x03, 3]));
    });
    const r = await exec(url);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stdout).toBe('hi\n');
  });

  it('garbage binary frames: a protocol error, not output', async () => {
    const url = await wsServer((ws) => {
      ws.send(info);
      ws.send(Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37]));
      ws.send(Buffer.from([0x03, 0]));
    });
    expectFailure(await exec(url), /sprite box broke the exec protocol \(unknown stream id 0xff\)/);
  });

  it('an empty binary frame', async () => {
    const url = await wsServer((ws) => {
      ws.send(Buffer.alloc(0));
      ws.send(Buffer.from([0x03, 0]));
    });
    expectFailure(await exec(url), /broke the exec protocol \(empty frame\)/);
  });

  it('an exit frame with no code byte, and one with two', async () => {
    const none = await wsServer((ws) => ws.send(Buffer.from([0x03])));
    const two = await wsServer((ws) => ws.send(Buffer.from([0x03, 0, 0])));
    const [a, b] = await Promise.all([exec(none), exec(two)]);
    expectFailure(a, /exit frame must carry exactly one byte, got 0/);
    expectFailure(b, /exit frame must carry exactly one byte, got 2/);
  });

  it('unknown stream ids, and a client-only stream sent by the server', async () => {
    const unknown = await wsServer((ws) => {
      ws.send(Buffer.from('\x01partial', 'latin1'));
      ws.send(Buffer.from('\x07what', 'latin1'));
      ws.send(Buffer.from([0x03, 0]));
    });
    const stdin = await wsServer((ws) => {
      ws.send(Buffer.from('\x00input', 'latin1'));
      ws.send(Buffer.from([0x03, 0]));
    });
    const [a, b] = await Promise.all([exec(unknown), exec(stdin)]);
    expectFailure(a, /unknown stream id 0x07/);
    expect(a.stdout).toBe('partial');
    expectFailure(b, /a stdin frame, which only a client sends/);
  });

  it('a huge text message (2 GiB announced): refused from its header, memory never holds it', async () => {
    let written = 0;
    const url = await rawServer((socket) => {
      // FIN + text opcode, 64-bit length 2^31, unmasked; then payload for as long as the client reads.
      const header = Buffer.from([0x81, 127, 0, 0, 0, 0, 0x80, 0, 0, 0]);
      socket.write(header);
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      const pump = () => {
        while (!socket.destroyed && written < 2 ** 31) {
          written += chunk.byteLength;
          if (!socket.write(chunk)) return void socket.once('drain', pump);
        }
      };
      pump();
    });
    const r = await exec(url);
    expectFailure(r, /lost before the command finished \(the sprite sent a message the CLI cannot read: Max payload size exceeded\)/);
    // What the client let the kernel buffer before it hung up: far below its 64 MiB message limit.
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it('bytes that are not WebSocket frames at all', async () => {
    const url = await rawServer((socket) => socket.write(Buffer.from([0xf3, 0x05, 0xde, 0xad, 0xbe, 0xef, 0x00])));
    expectFailure(await exec(url), /lost before the command finished \(the sprite sent a message the CLI cannot read: Invalid WebSocket frame/);
  });

  it('a socket closed without an exit frame, cleanly or by a reset: never exit 0', async () => {
    const clean = await wsServer((ws) => {
      ws.send(info);
      ws.send(Buffer.from('\x01some output\n', 'latin1'));
      ws.close(1000);
    });
    const reset = await wsServer((ws) => {
      ws.send(Buffer.from('\x01some output\n', 'latin1'));
      ws.terminate();
    });
    const [a, b] = await Promise.all([exec(clean), exec(reset)]);
    expectFailure(a, /connection to sprite box lost before the command finished \(close code 1000\)/);
    expect(a.stdout).toBe('some output\n');
    expectFailure(b, /connection to sprite box lost before the command finished \(connection dropped\)/);
  });

  it('an upgrade that never completes (TCP accepted, no answer): gives up after the time budget', async () => {
    const silent = await startSilentServer();
    closers.push(() => silent.close());
    const r = await exec(silent.url, { SPRITES_HTTP_TIMEOUT: '0.5' });
    expectFailure(r, new RegExp(`WS ${silent.url.replace('http', 'ws')}/v1/sprites/box/exec: no answer to the WebSocket upgrade within 0\\.5s`));
    // A silent peer is not a blocked WebSocket: no HTTP fallback (it would wait once more).
    expect(r.stderr).not.toMatch(/falling back/);
    expect(silent.connections()).toBe(1);
  });

  it('an upgrade refused with an endless body: the refusal is reported from the body\'s start', async () => {
    const sockets = new Set<Socket>();
    const server = createServer((req, res) => {
      sockets.add(req.socket);
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.write('Process not ready ');
      const chunk = Buffer.alloc(64 * 1024, 0x78);
      const pump = () => {
        while (!res.destroyed) if (!res.write(chunk)) return void res.once('drain', pump);
      };
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => (sockets.forEach((s) => s.destroy()), server.close(() => resolve()))));
    const r = await exec(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    expectFailure(r, /Process not ready x+/);
  });

  it('a peer that goes silent after the upgrade (no frames, no pongs): dead after three keepalive intervals', async () => {
    let pings = 0;
    const url = await wsServer((ws) => {
      ws.send(info);
      ws.on('ping', () => pings++);
    });
    const r = await exec(url, { SPRITES_KEEPALIVE_MS: '200' });
    expectFailure(r, /no answer from sprite box for 0\.6s; connection presumed dead/);
    expect(pings).toBeGreaterThan(0);
  });

  it('the keepalive knob: 15 s unless SPRITES_KEEPALIVE_MS says otherwise; a bad value is refused', async () => {
    expect(keepaliveIntervalMs({})).toBe(PING_INTERVAL_MS);
    expect(PING_INTERVAL_MS).toBe(15_000);
    expect(keepaliveIntervalMs({ SPRITES_KEEPALIVE_MS: '250' })).toBe(250);
    const url = await wsServer((ws) => ws.send(Buffer.from([0x03, 0])));
    expectFailure(await exec(url, { SPRITES_KEEPALIVE_MS: 'soon' }), /SPRITES_KEEPALIVE_MS="soon": expected a whole number of milliseconds/);
  });
});
