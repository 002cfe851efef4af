// The REST client against misbehaving servers: retries, timeouts, bounded reads, token redaction.
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type AddressInfo } from 'node:net';
import { ApiClient, ApiError, ConnectionError } from '../../src/lib/api.js';
import { readEvents } from '../../src/lib/events.js';
import { DEFAULT_RETRY, parseRetryAfter, retryDelay } from '../../src/lib/retry.js';
import { closedPort, startHostileServer, sendJson, startSilentServer, type HostileServer } from '../helpers/hostile.js';

const TOKEN = 'secret-token-0123456789abcdef';
const servers: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: Parameters<typeof startHostileServer>[0]): Promise<HostileServer> {
  const s = await startHostileServer(handler);
  servers.push(s);
  return s;
}

function client(url: string, extra: ConstructorParameters<typeof ApiClient>[1] & object = {}) {
  const notices: string[] = [];
  const traces: string[] = [];
  const api = new ApiClient(
    { baseUrl: url, token: TOKEN, tokenSource: 'test', isLocal: false },
    { notice: (l) => notices.push(l), debug: (l) => traces.push(l), retry: { baseDelayMs: 1 }, ...extra },
  );
  return { api, notices, traces };
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('retryDelay', () => {
  const status = (s: number, retryAfterSeconds?: number) => ({ kind: 'status' as const, status: s, retryAfterSeconds });
  const conn = (neverSent: boolean, timedOut = false) => ({ kind: 'connection' as const, neverSent, timedOut });

  it('retries idempotent methods on 429/502/503/504 and connection errors, within the attempt bound', () => {
    for (const m of ['GET', 'PUT', 'DELETE']) {
      for (const s of [429, 502, 503, 504]) expect(retryDelay(status(s), m, 1)).toBeGreaterThan(0);
      expect(retryDelay(conn(false), m, 1)).toBeGreaterThan(0);
      expect(retryDelay(status(503), m, DEFAULT_RETRY.maxAttempts)).toBeUndefined();
    }
    for (const s of [400, 401, 403, 404, 409, 500]) expect(retryDelay(status(s), 'GET', 1)).toBeUndefined();
  });

  it('never retries a POST that may have reached the server', () => {
    for (const s of [429, 502, 503, 504]) expect(retryDelay(status(s, 0), 'POST', 1)).toBeUndefined();
    expect(retryDelay(conn(false), 'POST', 1)).toBeUndefined();
    expect(retryDelay(conn(true), 'POST', 1)).toBeGreaterThan(0);
  });

  it('does not retry a request that used up its time budget', () => {
    expect(retryDelay(conn(false, true), 'GET', 1)).toBeUndefined();
  });

  it('backs off exponentially with jitter, capped', () => {
    const p = { maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 };
    expect(retryDelay(status(503), 'GET', 1, p, () => 0)).toBe(50);
    expect(retryDelay(status(503), 'GET', 1, p, () => 1)).toBe(100);
    expect(retryDelay(status(503), 'GET', 3, p, () => 1)).toBe(400);
    expect(retryDelay(status(503), 'GET', 9, p, () => 1)).toBe(1000);
    expect(retryDelay(status(503), 'GET', 9, p, () => 0)).toBe(500);
  });

  it('honours Retry-After up to the cap, and gives up beyond it', () => {
    expect(retryDelay(status(429, 2), 'GET', 1)).toBe(2000);
    expect(retryDelay(status(503, 0), 'GET', 1)).toBe(0);
    expect(retryDelay(status(429, 31), 'GET', 1)).toBeUndefined();
  });

  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('7')).toBe(7);
    expect(parseRetryAfter(new Date(1_000_000 + 5000).toUTCString(), 1_000_000)).toBe(5);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });
});

describe('ApiClient retries', () => {
  it('retries a GET through 503, 502, 504 and a reset connection, with a notice each time', async () => {
    const s = await serve((req, res, n) => {
      if (n === 1) return sendJson(res, 503, { error: 'unavailable', message: 'Process not ready' });
      if (n === 2) return sendJson(res, 502, {});
      if (n === 3) return req.socket.destroy();
      sendJson(res, 200, { ok: n });
    });
    const { api, notices } = client(s.url, { retry: { baseDelayMs: 1, maxAttempts: 5 } });
    expect(await api.request('GET', '/v1/sprites')).toEqual({ ok: 4 });
    expect(s.requests).toHaveLength(4);
    expect(notices).toHaveLength(3);
    expect(notices[0]).toMatch(/^GET \/v1\/sprites: the server answered 503; retrying in \d+\.\ds \(attempt 2 of 5\)$/);
  });

  it('gives up after the bound, saying how many attempts were made', async () => {
    const s = await serve((_req, res) => sendJson(res, 503, { error: 'unavailable' }));
    const { api } = client(s.url);
    const err = (await failure(api.request('DELETE', '/v1/sprites/x'))) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err.status).toBe(503);
    expect(err.attempts).toBe(DEFAULT_RETRY.maxAttempts);
    expect(s.requests).toHaveLength(DEFAULT_RETRY.maxAttempts);
  });

  it('honours Retry-After and retry_after_seconds, and does not wait for a long one', async () => {
    const s = await serve((_req, res, n) => {
      if (n === 1) return sendJson(res, 429, { error: 'rate_limited' }, { 'retry-after': '0' });
      if (n === 2) return sendJson(res, 429, { error: 'rate_limited', retry_after_seconds: 0 });
      if (n === 3) return sendJson(res, 200, { ok: true });
      sendJson(res, 429, { error: 'rate_limited', retry_after_seconds: 3600 });
    });
    const { api, notices } = client(s.url);
    expect(await api.request('GET', '/v1/sprites')).toEqual({ ok: true });
    expect(notices.every((n) => /retrying in 0\.0s/.test(n))).toBe(true);
    const err = (await failure(api.request('GET', '/v1/sprites'))) as ApiError;
    expect(err.status).toBe(429);
    expect(err.retryAfterSeconds).toBe(3600);
    expect(s.requests).toHaveLength(4);
  });

  it('never retries a POST that reached the server: 503, 429 or a connection dropped after the request', async () => {
    const s = await serve((req, res, n) => {
      if (n === 1) return sendJson(res, 503, { error: 'unavailable' }, { 'retry-after': '0' });
      if (n === 2) return sendJson(res, 429, { error: 'sprite_creation_rate_limited' }, { 'retry-after': '0' });
      req.socket.destroy();
    });
    const { api, notices } = client(s.url);
    expect(((await failure(api.request('POST', '/v1/sprites', { body: { name: 'a' } }))) as ApiError).status).toBe(503);
    expect(((await failure(api.request('POST', '/v1/sprites', { body: { name: 'a' } }))) as ApiError).status).toBe(429);
    const dropped = await failure(api.request('POST', '/v1/sprites', { body: { name: 'a' } }));
    expect(dropped).toBeInstanceOf(ConnectionError);
    expect(s.requests).toHaveLength(3);
    expect(notices).toEqual([]);
  });

  it('retries even a POST when the connection was refused (the server never saw it), then names the URL', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const { api, notices } = client(url);
    const err = (await failure(api.request('POST', '/v1/sprites', { body: {} }))) as ConnectionError;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toContain(`cannot reach the API at ${url}: ECONNREFUSED`);
    expect(err.attempts).toBe(DEFAULT_RETRY.maxAttempts);
    expect(notices).toHaveLength(DEFAULT_RETRY.maxAttempts - 1);
  });
});

describe('ApiClient against hostile servers', () => {
  it('speaks TLS to an https URL (node:https loads on first use)', async () => {
    const first: Buffer[] = [];
    const tcp = createServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        first.push(chunk);
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    servers.push({ close: () => new Promise<void>((resolve) => tcp.close(() => resolve())) });
    const { port } = tcp.address() as AddressInfo;
    const { api } = client(`https://127.0.0.1:${port}`, { retry: { maxAttempts: 1 } });
    expect(await failure(api.request('GET', '/v1/sprites'))).toBeInstanceOf(ConnectionError);
    // A TLS handshake record (content type 22), not a plain-text GET.
    expect(first[0]?.[0]).toBe(0x16);
  });

  it('a server that accepts the connection and never answers: a clear timeout, not retried', async () => {
    const s = await startSilentServer();
    servers.push(s);
    const { api, notices } = client(s.url, { timeoutMs: 300 });
    const err = (await failure(api.request('GET', '/v1/sprites'))) as ConnectionError;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.timedOut).toBe(true);
    expect(err.message).toBe(`GET ${s.url}/v1/sprites: no answer within 0.3s`);
    expect(s.connections()).toBe(1);
    expect(notices).toEqual([]);
    const streamErr = (await failure(api.stream('POST', '/v1/sprites/x/checkpoint'))) as ConnectionError;
    expect(streamErr.timedOut).toBe(true);
  });

  it('a body that stops coming mid-answer: the time budget still ends the request', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"sprites": [');
    });
    const { api } = client(s.url, { timeoutMs: 300, retry: { maxAttempts: 1 } });
    const err = (await failure(api.request('GET', '/v1/sprites'))) as ConnectionError;
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toMatch(/no answer within 0\.3s/);
  });

  it('a garbage body is an invalid_response error', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('\x00\xff<html>not json');
    });
    const err = (await failure(client(s.url).api.request('GET', '/v1/sprites'))) as ApiError;
    expect(err.code).toBe('invalid_response');
    expect(err.message).toMatch(/not JSON/);
  });

  it('a plain-text error body becomes the message; a huge one is cut short', async () => {
    const s = await serve((_req, res, n) => {
      res.writeHead(n === 1 ? 401 : 500, { 'content-type': 'text/plain' });
      res.end(n === 1 ? 'Missing or invalid authentication' : 'e'.repeat(10 * 1024 * 1024));
    });
    const { api } = client(s.url);
    const e1 = (await failure(api.request('GET', '/v1/sprites'))) as ApiError;
    expect(e1.status).toBe(401);
    expect(e1.message).toBe('Missing or invalid authentication');
    const e2 = (await failure(api.request('GET', '/v1/sprites'))) as ApiError;
    expect(e2.status).toBe(500);
    expect(e2.message.length).toBeLessThan(1000);
  });

  it('an endless JSON answer is refused after the size bound, without reading the rest', async () => {
    let written = 0;
    let closed = false;
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"sprites": ["');
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (!res.destroyed && written < 512 * 1024 * 1024) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
      };
      res.on('close', () => (closed = true));
      pump();
    });
    const { api } = client(s.url, { maxBodyBytes: 1024 * 1024 });
    const err = (await failure(api.request('GET', '/v1/sprites'))) as ApiError;
    expect(err.code).toBe('response_too_large');
    await expect.poll(() => closed, { timeout: 10_000 }).toBe(true);
    expect(written).toBeLessThan(512 * 1024 * 1024);
  });

  it('a declared Content-Length over the bound is refused before reading', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(64 * 1024 * 1024) });
      res.write('[');
    });
    const err = (await failure(client(s.url, { maxBodyBytes: 1024 }).api.request('GET', '/v1/sprites'))) as ApiError;
    expect(err.code).toBe('response_too_large');
  });

  it('a server echoing the Authorization header never gets the token into errors or traces', async () => {
    let sent: string | undefined;
    const s = await serve((req, res) => {
      sent = req.headers.authorization;
      sendJson(res, 500, { error: 'boom', message: `you sent ${sent}` });
    });
    const { api, traces, notices } = client(s.url);
    const err = (await failure(api.request('GET', `/v1/sprites/${TOKEN}`))) as ApiError;
    expect(sent).toBe(`Bearer ${TOKEN}`);
    expect(s.requests).toHaveLength(1);
    expect(err.message).toBe('you sent Bearer [REDACTED]');
    expect(JSON.stringify(err.body)).not.toContain(TOKEN);
    expect([...traces, ...notices].join('\n')).not.toContain(TOKEN);
    expect(traces.length).toBeGreaterThan(0);
  });
});

describe('readEvents (NDJSON streams)', () => {
  async function events(s: HostileServer, options: Parameters<typeof readEvents>[1] = {}) {
    const res = await client(s.url).api.stream('POST', '/v1/sprites/x/checkpoint');
    const out: unknown[] = [];
    try {
      for await (const item of readEvents(res, { label: 'checkpoint', ...options })) out.push(item);
      return { out, err: undefined };
    } catch (err) {
      return { out, err: err as Error };
    }
  }

  it('reads events split anywhere, and a final event without a newline', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"type":"info","data":"é');
      setImmediate(() => res.end('"}\n\n{"type":"complete","data":"done"}'));
    });
    const { out, err } = await events(s);
    expect(err).toBeUndefined();
    expect(out).toEqual([
      { ok: true, value: { type: 'info', data: 'é' } },
      { ok: true, value: { type: 'complete', data: 'done' } },
    ]);
  });

  it('a stream that stops mid-line is a clear error after the complete events', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end('{"type":"info","data":"a"}\n{"type":"comp');
    });
    const { out, err } = await events(s);
    expect(out).toEqual([{ ok: true, value: { type: 'info', data: 'a' } }]);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err!.message).toBe('checkpoint: the server closed the stream in the middle of a line');
  });

  it('a stream that goes silent ends with an idle timeout', async () => {
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"type":"info","data":"a"}\n');
    });
    const { out, err } = await events(s, { idleTimeoutMs: 300 });
    expect(out).toHaveLength(1);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err!.message).toBe('checkpoint: no data for 0.3s; giving up');
  });

  it('a huge line is skipped in bounded memory and the stream goes on', async () => {
    const lineBytes = 64 * 1024 * 1024;
    const s = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"type":"info","data":"');
      const chunk = Buffer.alloc(256 * 1024, 0x61);
      let sent = 0;
      const pump = () => {
        while (sent < lineBytes) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end('"}\n{"type":"complete","data":"ok"}\n');
      };
      pump();
    });
    const used = () => {
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const before = used();
    let peak = 0;
    const res = await client(s.url).api.stream('POST', '/v1/sprites/x/checkpoint');
    const out: Array<{ ok: boolean }> = [];
    for await (const item of readEvents(res, { maxLineBytes: 1024 * 1024 })) {
      out.push(item);
      peak = Math.max(peak, used() - before);
    }
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({ ok: false, error: expect.stringMatching(/longer than/) });
    expect(out[1]).toEqual({ ok: true, value: { type: 'complete', data: 'ok' } });
    // The 64 MiB line was never held (holding it costs about three times its size).
    expect(peak).toBeLessThan(lineBytes);
  });

  it('a connection cut mid-stream is a ConnectionError, not a silent end', async () => {
    const s = await serve((req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write('{"type":"info","data":"a"}\n');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const { out, err } = await events(s);
    expect(out).toHaveLength(1);
    expect(err).toBeInstanceOf(ConnectionError);
  });
});
