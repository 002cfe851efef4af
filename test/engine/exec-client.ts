// A raw exec WebSocket for engine tests: records every message, so tests can wait on conditions.
import WebSocket from 'ws';
import type { TestEngine } from '../helpers/cli.js';

export interface RawExec {
  ws: WebSocket;
  /** Response headers of the upgrade. */
  headers: Record<string, string | string[] | undefined>;
  texts: Array<Record<string, unknown>>;
  binaries: Buffer[];
  stdout(): string;
  stderr(): string;
  /** The exit code from a binary exit frame or a JSON exit message. */
  exitCode(): number | undefined;
  waitFor(test: () => boolean, what: string, timeoutMs?: number): Promise<void>;
  closed: Promise<number>;
}

export function execUrl(engine: Pick<TestEngine, 'url'>, sprite: string, query: Array<[string, string]>, suffix = ''): string {
  const params = new URLSearchParams(query);
  return `${engine.url.replace(/^http/, 'ws')}/v1/sprites/${encodeURIComponent(sprite)}/exec${suffix}?${params}`;
}

export function openExec(engine: Pick<TestEngine, 'url' | 'token'>, url: string): Promise<RawExec> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${engine.token}` }, perMessageDeflate: false });
    const texts: Array<Record<string, unknown>> = [];
    const binaries: Buffer[] = [];
    const waiters = new Set<() => void>();
    let headers: RawExec['headers'] = {};
    const closed = new Promise<number>((res) => ws.once('close', (code) => {
      res(code);
      for (const w of [...waiters]) w();
    }));
    ws.on('upgrade', (res) => (headers = res.headers));
    ws.on('message', (data, isBinary) => {
      if (isBinary) binaries.push(data as Buffer);
      else texts.push(JSON.parse(String(data)) as Record<string, unknown>);
      for (const w of [...waiters]) w();
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c));
      res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
    });
    ws.once('error', reject);
    const streamText = (id: number) => Buffer.concat(binaries.filter((b) => b[0] === id).map((b) => b.subarray(1))).toString('utf8');
    ws.once('open', () =>
      resolve({
        ws,
        headers,
        texts,
        binaries,
        stdout: () => streamText(1),
        stderr: () => streamText(2),
        exitCode: () => {
          const frame = binaries.find((b) => b[0] === 3 && b.byteLength === 2);
          if (frame) return frame[1];
          const msg = texts.find((t) => t.type === 'exit');
          return msg ? (msg.exit_code as number) : undefined;
        },
        waitFor(test, what, timeoutMs = 10_000) {
          return new Promise((res, rej) => {
            if (test()) return res();
            const check = () => {
              if (!test()) return;
              waiters.delete(check);
              clearTimeout(timer);
              res();
            };
            const timer = setTimeout(() => {
              waiters.delete(check);
              rej(new Error(`timed out waiting for ${what}; texts=${JSON.stringify(texts)} stdout=${JSON.stringify(streamText(1).slice(-500))}`));
            }, timeoutMs);
            waiters.add(check);
          });
        },
        closed,
      }),
    );
  });
}

/** Poll an async condition until it holds (for state only visible through requests). */
export async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
