// The engine's proxy WebSocket (SPRITES-API.md §6) over real sockets: handshake, refusals,
// relay, half-close, resets, and closing a sprite's tunnels when it is deleted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { Engine } from '../../src/engine/server.js';
import { closeOutcome, echoServer, listenTcp, patternBytes, settledValue, sha256, waitUntil, type TestServer } from '../helpers/tcp.js';

const TOKEN = 'proxy-test-token-0123456789';
let dir: string;
let engine: Engine;
let echo: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sprites-proxy-engine-'));
  engine = new Engine({ dataDir: dir, token: TOKEN });
  await engine.start();
  await engine.store.create({ name: 'demo' });
  echo = await echoServer();
});

afterAll(async () => {
  await echo?.close();
  await engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Opened {
  ws: WebSocket;
  /** Text messages, in order. */
  texts: string[];
  /** Binary bytes received. */
  bytes: Buffer[];
  closed: Promise<{ code: number; reason: string }>;
}

/** The half-close extension is asked for by a header (our CLI sends it); §6 clients do not. */
const HALF_CLOSE = { 'sprites-proxy-half-close': 'eof' };

function open(sprite = 'demo', token = TOKEN, headers: Record<string, string> = HALF_CLOSE): Opened {
  const ws = new WebSocket(`${engine.url.replace('http', 'ws')}/v1/sprites/${sprite}/proxy`, {
    headers: { authorization: `Bearer ${token}`, ...headers },
    perMessageDeflate: false,
  });
  const texts: string[] = [];
  const bytes: Buffer[] = [];
  ws.on('message', (d: Buffer, isBinary) => (isBinary ? bytes.push(d) : texts.push(d.toString())));
  ws.on('error', () => {});
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, r) => resolve({ code, reason: r.toString() })));
  return { ws, texts, bytes, closed };
}

function opened(o: Opened): Promise<void> {
  return new Promise((resolve, reject) => {
    o.ws.once('open', () => resolve());
    o.ws.once('error', reject);
  });
}

function upgradeStatus(sprite: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${engine.url.replace('http', 'ws')}/v1/sprites/${sprite}/proxy`, { headers: { authorization: `Bearer ${token}` } });
    ws.on('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.on('open', () => reject(new Error('upgrade was accepted')));
    ws.on('error', () => {});
  });
}

async function connected(target: { host?: string; port: number }, sprite = 'demo', headers?: Record<string, string>): Promise<Opened> {
  const o = open(sprite, TOKEN, headers);
  await opened(o);
  o.ws.send(JSON.stringify(target));
  await waitUntil(() => o.texts.length > 0, 'the connected message');
  return o;
}

describe('proxy upgrade', () => {
  it('refuses an unknown sprite with 404 and a bad token with 401', async () => {
    expect(await upgradeStatus('nope', TOKEN)).toBe(404);
    expect(await upgradeStatus('demo', 'wrong-token')).toBe(401);
  });
});

describe('proxy handshake', () => {
  it.each([
    ['a binary first message', Buffer.from('{"host":"localhost","port":80}'), true],
    ['a message that is not JSON', 'hello', false],
    ['a JSON array', '[1,2]', false],
    ['port 0', '{"host":"localhost","port":0}', false],
    ['port 65536', '{"host":"localhost","port":65536}', false],
    ['a string port', '{"host":"localhost","port":"80"}', false],
    ['a fractional port', '{"host":"localhost","port":80.5}', false],
    ['a numeric host', '{"host":7,"port":80}', false],
  ])('closes 1003 for %s', async (_what, message, binary) => {
    const o = open();
    await opened(o);
    o.ws.send(message, { binary });
    const { code, reason } = await o.closed;
    expect(code).toBe(1003);
    expect(reason).not.toBe('');
    expect(o.texts).toEqual([]);
  });

  it.each(['10.1.2.3', 'example.com', '0.0.0.0', '::ffff:10.0.0.1'])('refuses host %s with 1011 and dials nothing', async (host) => {
    const o = open();
    await opened(o);
    o.ws.send(JSON.stringify({ host, port: echo.port }));
    const { code, reason } = await o.closed;
    expect(code).toBe(1011);
    expect(reason).toMatch(/only the sprite's own localhost/);
    expect(o.texts).toEqual([]);
  });

  it('closes 1011 with the reason when nothing listens on the port', async () => {
    const free = await freePort();
    const o = open();
    await opened(o);
    o.ws.send(JSON.stringify({ host: 'localhost', port: free }));
    const { code, reason } = await o.closed;
    expect(code).toBe(1011);
    expect(reason).toContain(`localhost:${free}`);
    expect(reason).toMatch(/ECONNREFUSED/);
  });

  it('answers {"status":"connected","target":"host:port"}, empty host meaning localhost', async () => {
    const a = await connected({ host: 'localhost', port: echo.port });
    expect(JSON.parse(a.texts[0]!)).toEqual({ status: 'connected', target: `localhost:${echo.port}` });
    const b = await connected({ host: '', port: echo.port });
    expect(JSON.parse(b.texts[0]!)).toEqual({ status: 'connected', target: `localhost:${echo.port}` });
    const c = await connected({ host: '127.0.0.1', port: echo.port });
    expect(JSON.parse(c.texts[0]!)).toEqual({ status: 'connected', target: `127.0.0.1:${echo.port}` });
    for (const o of [a, b, c]) o.ws.close(1000);
    await Promise.all([a.closed, b.closed, c.closed]);
  });

  it('writes IPv6 targets in brackets', async (ctx) => {
    let v6: TestServer;
    try {
      v6 = await listenTcp((s) => s.pipe(s), '::1');
    } catch {
      return ctx.skip();
    }
    const o = await connected({ host: '::1', port: v6.port });
    expect(JSON.parse(o.texts[0]!)).toEqual({ status: 'connected', target: `[::1]:${v6.port}` });
    o.ws.close(1000);
    await o.closed;
    await v6.close();
  });
});

describe('proxy relay', () => {
  it('keeps bytes sent right after the init message, relays them exactly, and half-closes both ways', async () => {
    const server = await listenTcp((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      // Answer only after the client's EOF: that EOF must arrive without closing the way back.
      s.on('end', () => s.end(`got ${Buffer.concat(chunks).length} bytes, sha ${sha256(chunks)}`));
    });
    const payload = patternBytes(3 * 1024 * 1024 + 7, 11);
    const o = open();
    await opened(o);
    o.ws.send(JSON.stringify({ host: 'localhost', port: server.port }));
    o.ws.send(payload.subarray(0, 1000), { binary: true });
    o.ws.send(payload.subarray(1000), { binary: true });
    o.ws.send('{"type":"eof"}');
    const { code } = await o.closed;
    expect(code).toBe(1000);
    expect(JSON.parse(o.texts[0]!).status).toBe('connected');
    expect(Buffer.concat(o.bytes).toString()).toBe(`got ${payload.length} bytes, sha ${sha256(payload)}`);
    // Both directions ended: a normal close is the EOF, an eof message before it is optional.
    expect(o.texts.slice(1).every((t) => t === '{"type":"eof"}')).toBe(true);
    await server.close();
  });

  it('keeps carrying the client\'s bytes after the target has finished sending', async () => {
    const received: Buffer[] = [];
    let targetSawEnd = false;
    const server = await listenTcp((s) => {
      s.end('early goodbye');
      s.on('data', (c: Buffer) => received.push(c));
      s.on('end', () => (targetSawEnd = true));
    });
    const o = await connected({ port: server.port });
    await waitUntil(() => o.texts.includes('{"type":"eof"}'), 'the eof message from the target side');
    expect(Buffer.concat(o.bytes).toString()).toBe('early goodbye');
    const late = patternBytes(2 * 1024 * 1024, 21);
    o.ws.send(late, { binary: true });
    o.ws.send('{"type":"eof"}');
    expect((await o.closed).code).toBe(1000);
    await waitUntil(() => targetSawEnd, 'the EOF at the target');
    expect(sha256(received)).toBe(sha256(late));
    await server.close();
  });

  it('ignores other text messages after the handshake', async () => {
    const o = await connected({ port: echo.port });
    o.ws.send('{"type":"something-else"}');
    o.ws.send(Buffer.from('ping'), { binary: true });
    await waitUntil(() => Buffer.concat(o.bytes).toString() === 'ping', 'the echo');
    o.ws.close(1000);
    expect((await o.closed).code).toBe(1000);
  });

  it('closes 1011 when the target resets the connection', async () => {
    const server = await listenTcp((s) => s.once('data', () => s.resetAndDestroy()));
    const o = await connected({ port: server.port });
    o.ws.send(Buffer.from('boom'), { binary: true });
    const { code, reason } = await o.closed;
    expect(code).toBe(1011);
    expect(reason).toMatch(/reset/);
    await server.close();
  });

  it('resets the target when the client drops the socket, and ends it on a normal close', async () => {
    const server = await listenTcp(() => {});
    const dropped = await connected({ port: server.port });
    await waitUntil(() => server.accepted.length === 1, 'the first target connection');
    const droppedOutcome = closeOutcome(server.accepted[0]!);
    dropped.ws.terminate();
    expect(await droppedOutcome).toBe('error');

    const closed = await connected({ port: server.port });
    await waitUntil(() => server.accepted.length === 2, 'the second target connection');
    const closedOutcome = closeOutcome(server.accepted[1]!);
    closed.ws.close(1000);
    expect(await closedOutcome).toBe('end');
    await server.close();
  });

  it('stops reading the client while the target does not read (backpressure)', async () => {
    let target: import('node:net').Socket | undefined;
    const received: Buffer[] = [];
    const server = await listenTcp((s) => {
      target = s;
      s.pause();
      s.on('data', (c: Buffer) => received.push(c));
    });
    const o = await connected({ port: server.port });
    const payload = patternBytes(48 * 1024 * 1024, 5);
    for (let i = 0; i < payload.length; i += 1024 * 1024) o.ws.send(payload.subarray(i, i + 1024 * 1024), { binary: true });
    // The engine holds at most its high-water mark plus socket buffers: most stays with the client.
    const stuck = await settledValue(() => o.ws.bufferedAmount);
    expect(stuck).toBeGreaterThan(24 * 1024 * 1024);
    target!.resume();
    await waitUntil(() => received.reduce((n, c) => n + c.length, 0) === payload.length, 'all bytes at the target');
    expect(sha256(received)).toBe(sha256(payload));
    o.ws.close(1000);
    await o.closed;
    await server.close();
  });

  it('sends no eof message to a client that did not ask for the half-close extension', async () => {
    const server = await listenTcp((s) => s.on('data', () => s.end('bye')));
    const o = await connected({ port: server.port }, 'demo', {});
    o.ws.send(Buffer.from('hi'), { binary: true });
    expect((await closedWithin(o)).code).toBe(1000);
    expect(Buffer.concat(o.bytes).toString()).toBe('bye');
    expect(o.texts.slice(1)).toEqual([]);
    await server.close();
  });

  it('closes a sprite\'s tunnels when the sprite is deleted', async () => {
    await engine.store.create({ name: 'doomed' });
    const server = await listenTcp(() => {});
    const o = await connected({ port: server.port }, 'doomed');
    await waitUntil(() => server.accepted.length === 1, 'the target connection');
    const other = await connected({ port: echo.port });
    await engine.deleteSprite('doomed');
    const { code, reason } = await o.closed;
    expect(code).toBe(1001);
    expect(reason).toMatch(/stopped/);
    // The other sprite's tunnel is untouched.
    other.ws.send(Buffer.from('still here'), { binary: true });
    await waitUntil(() => Buffer.concat(other.bytes).toString() === 'still here', 'the echo on the other tunnel');
    other.ws.close(1000);
    await other.closed;
    await server.close();
  });
});

// What the official SDK (@fly/sprites proxy.js) does on the wire: no half-close header, masked
// frames, the text init, binary data; it ignores text after the handshake and ends its local
// connection only on the close. So the target finishing must close the socket (§6: close 1000 is
// EOF), after every byte the target sent, or the SDK's local client waits forever.
describe('a §6 client without the half-close extension (the official SDK)', () => {
  it('gets every byte of the answer and then a close 1000 when the target finishes', async () => {
    // Like the bench's sink: a length line, that many bytes, then the count and the end.
    const server = await listenTcp((s) => {
      let head = '';
      let expected = -1;
      let n = 0;
      s.on('data', (c: Buffer) => {
        if (expected < 0) {
          head += c.toString('latin1');
          const nl = head.indexOf('\n');
          if (nl < 0) return;
          expected = Number(head.slice(0, nl));
          n = head.length - nl - 1;
        } else n += c.length;
        if (n >= expected) s.end(`${n}\n`);
      });
    });
    const payload = patternBytes(5 * 1024 * 1024 + 3, 31);
    const o = open('demo', TOKEN, {});
    await opened(o);
    o.ws.send(JSON.stringify({ host: 'localhost', port: server.port }));
    await waitUntil(() => o.texts.length > 0, 'the connected message');
    expect(JSON.parse(o.texts[0]!).status).toBe('connected');
    o.ws.send(Buffer.from(`${payload.length}\n`), { binary: true });
    for (let i = 0; i < payload.length; i += 64 * 1024) o.ws.send(payload.subarray(i, i + 64 * 1024), { binary: true });
    expect((await closedWithin(o)).code).toBe(1000);
    expect(Buffer.concat(o.bytes).toString()).toBe(`${payload.length}\n`);
    expect(o.texts.slice(1)).toEqual([]);
    await server.close();
  });

  it('delivers a large answer whole before the close', async () => {
    const answer = patternBytes(8 * 1024 * 1024 + 1, 41);
    const server = await listenTcp((s) => s.once('data', () => s.end(answer)));
    const o = await connected({ port: server.port }, 'demo', {});
    o.ws.send(Buffer.from('go'), { binary: true });
    expect((await closedWithin(o)).code).toBe(1000);
    expect(sha256(o.bytes)).toBe(sha256(answer));
    await server.close();
  });
});

/** The close, or a clear failure when none comes (a §6 client would wait forever). */
async function closedWithin(o: Opened, ms = 10_000): Promise<{ code: number; reason: string }> {
  let result: { code: number; reason: string } | undefined;
  void o.closed.then((r) => (result = r));
  await waitUntil(() => result !== undefined, 'the close after the target finished (a §6 client has no other EOF)', ms);
  return result!;
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
