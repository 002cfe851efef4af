// The real binary against misbehaving servers: exit codes, messages, bounded time, no token leaks.
import { afterAll, describe, expect, it } from 'vitest';
import { isolatedEnv, runCli, type RunResult } from '../helpers/cli.js';
import { closedPort, startHostileServer, sendJson, startSilentServer } from '../helpers/hostile.js';

const SECRET = 'sk_live_reliability_0123456789abcdef';
const home = isolatedEnv();
const closers: Array<{ close(): Promise<void> }> = [];
const everything: RunResult[] = [];
afterAll(async () => {
  await Promise.all(closers.map((c) => c.close()));
  home.cleanup();
});

async function cli(url: string, args: string[], extra: Record<string, string> = {}): Promise<RunResult> {
  const r = await runCli(args, { env: { ...home.env, SPRITES_API_URL: url, SPRITES_TOKEN: SECRET, ...extra } });
  everything.push(r);
  return r;
}

async function serve(handler: Parameters<typeof startHostileServer>[0]) {
  const s = await startHostileServer(handler);
  closers.push(s);
  return s;
}

describe('the CLI against hostile servers', () => {
  it('a server that never answers: exit 1 with a timeout naming the URL, within the time budget', async () => {
    const s = await startSilentServer();
    closers.push(s);
    const r = await cli(s.url, ['list'], { SPRITES_HTTP_TIMEOUT: '0.5' });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`GET ${s.url}/v1/sprites`);
    expect(r.stderr).toMatch(/no answer within 0\.5s/);
    expect(s.connections()).toBe(1);
    const bad = await cli(s.url, ['list'], { SPRITES_HTTP_TIMEOUT: 'soon' });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/SPRITES_HTTP_TIMEOUT/);
  });

  it('retries a GET on 503 with a notice on stderr, and gives up at the bound', async () => {
    const s = await serve((_req, res) => sendJson(res, 503, { error: 'unavailable', message: 'Process not ready' }, { 'retry-after': '0' }));
    const r = await cli(s.url, ['get', 'some-sprite']);
    expect(r.code).toBe(1);
    expect(r.stderr.match(/retrying in/g)).toHaveLength(3);
    expect(r.stderr).toMatch(/Error: Process not ready \(gave up after 4 attempts\)/);
    expect(s.requests).toHaveLength(4);
    expect(r.stdout).toBe('');
  });

  it('recovers when the server comes back during the retries', async () => {
    const s = await serve((_req, res, n) => (n < 3 ? sendJson(res, 502, {}, { 'retry-after': '0' }) : sendJson(res, 200, { sprites: [{ name: 'back' }], has_more: false, next_continuation_token: null })));
    const r = await cli(s.url, ['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('back\n');
    expect(r.stderr.match(/retrying in/g)).toHaveLength(2);
  });

  it('429 on create: not retried, and the message gives the limit, the current count and when to retry', async () => {
    const s = await serve((_req, res) =>
      sendJson(
        res,
        429,
        { error: 'sprite_creation_rate_limited', message: 'Rate limit exceeded', limit: 10, window_seconds: 60, current_count: 10, retry_after_seconds: 42 },
        { 'retry-after': '42' },
      ),
    );
    const r = await cli(s.url, ['create', 'limited']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('cannot create limited: too many sprites created recently: Rate limit exceeded (limit 10 per 60s, current count 10); retry in 42s');
    expect(s.requests).toHaveLength(1);
    expect(r.stderr).not.toMatch(/retrying/);
  });

  it('a create whose connection drops after sending is not repeated', async () => {
    const s = await serve((req) => req.socket.destroy());
    const r = await cli(s.url, ['create', 'maybe']);
    expect(r.code).toBe(1);
    expect(s.requests).toHaveLength(1);
    expect(r.stderr).toContain(s.url);
  });

  it('an unreachable API: exit 1 naming the URL after the bounded retries', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const r = await cli(url, ['get', 'x']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach the API at ${url}: ECONNREFUSED`);
    expect(r.stderr).toMatch(/gave up after 4 attempts/);
  });

  it('garbage and truncated bodies: exit 1 with a clear message', async () => {
    const s = await serve((_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (n === 1) res.end('<html>\x00garbage');
      else res.end('{"sprites": [{"name": "cut');
    });
    const garbage = await cli(s.url, ['list']);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/not JSON/);
    const cut = await cli(s.url, ['list', '--json']);
    expect(cut.code).toBe(1);
    expect(JSON.parse(cut.stdout)).toMatchObject({ error: { code: 'invalid_response' } });
  });

  it('a server echoing the token back in errors: the token appears in no output, even with --debug', async () => {
    const s = await serve((req, res, n) => {
      const echo = `${req.headers.authorization} ${SECRET}`;
      if (n % 3 === 1) return sendJson(res, 401, { error: 'unauthorized', message: echo });
      if (n % 3 === 2) return sendJson(res, 500, { error: 'boom', message: echo });
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end(echo);
    });
    const runs = await Promise.all([
      cli(s.url, ['list', '--debug']),
      cli(s.url, ['create', 'x', '--debug', '--json']),
      cli(s.url, ['delete', 'x', '--force', '--debug']),
    ]);
    for (const r of runs) expect(r.code).not.toBe(0);
    expect(runs.some((r) => r.code === 4)).toBe(true);
    expect(runs.map((r) => r.stderr).join('\n')).toMatch(/\[REDACTED\]/);
  });

  it('the token appears nowhere in the output of any run of this file', () => {
    expect(everything.length).toBeGreaterThan(10);
    for (const r of everything) {
      expect(r.stdout).not.toContain(SECRET);
      expect(r.stderr).not.toContain(SECRET);
    }
  });
});
