// One HTTP request on node:http/https, for ApiClient and the local-engine probes. Not fetch: in a
// short-lived CLI process fetch (undici) costs ~100 ms — loading it, compiling its llhttp
// WebAssembly parser, and waiting at exit for V8's Wasm tier-up (docs/notes/perf.md).
import { request as httpRequest, type ClientRequest, type IncomingHttpHeaders, type IncomingMessage, type RequestOptions } from 'node:http';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';

/** node:https (and with it tls and crypto) loads only for an https URL: the local engine is http. */
const loadBuiltin = createRequire(import.meta.url);
function httpsRequest(url: string, options: RequestOptions): ClientRequest {
  return (loadBuiltin('node:https') as typeof import('node:https')).request(url, options);
}

/** Case-insensitive header lookup, the part of WHATWG Headers that the client uses. */
export interface HeaderLookup {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  url: string;
  headers: HeaderLookup;
  /** The body as a byte stream; destroy it to stop reading early (it closes the connection). */
  body: IncomingMessage;
}

export type RequestBody = string | Uint8Array | Readable;

export interface SendOptions {
  method: string;
  headers: Record<string, string>;
  body?: RequestBody;
  /** Aborts the request and, once the answer has begun, its body; the error is the signal's reason. */
  signal?: AbortSignal;
}

/** Like undici's connect timeout: a connection not established by then was never sent. */
const CONNECT_TIMEOUT_MS = 10_000;

export class ConnectTimeoutError extends Error {
  readonly code = 'UND_ERR_CONNECT_TIMEOUT';
  constructor() {
    super(`connect timeout after ${CONNECT_TIMEOUT_MS / 1000}s`);
    this.name = 'ConnectTimeoutError';
  }
}

export function headerLookup(headers: IncomingHttpHeaders): HeaderLookup {
  return {
    get(name) {
      const v = headers[name.toLowerCase()];
      if (v === undefined) return null;
      return Array.isArray(v) ? v.join(', ') : v;
    },
  };
}

export function isReadable(body: unknown): body is Readable {
  return typeof body === 'object' && body !== null && typeof (body as Readable).pipe === 'function';
}

/**
 * Send one request; resolves when the response headers arrive. No keep-alive (a fresh agent per
 * request), so nothing outlives the answer and holds the process open.
 */
export function send(url: string, options: SendOptions): Promise<HttpResponse> {
  const { signal } = options;
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const headers = { ...options.headers };
    const body = options.body;
    if (body !== undefined && !isReadable(body)) headers['content-length'] = String(Buffer.byteLength(body));
    let req: ClientRequest;
    try {
      req = (url.startsWith('https:') ? httpsRequest : httpRequest)(url, { method: options.method, headers, agent: false });
    } catch (err) {
      return reject(err);
    }
    let res: IncomingMessage | undefined;
    const onAbort = () => {
      if (res) res.destroy(signal!.reason);
      req.destroy(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    const connectTimer = setTimeout(() => req.destroy(new ConnectTimeoutError()), CONNECT_TIMEOUT_MS);
    req.once('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once('connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (err) => {
      clearTimeout(connectTimer);
      if (!res) {
        done();
        reject(err);
      }
    });
    req.once('response', (message) => {
      clearTimeout(connectTimer);
      res = message;
      message.once('close', done);
      // Readers see a broken body through their own listeners; an unread one must not crash the CLI.
      message.on('error', () => {});
      resolve({ status: message.statusCode ?? 0, url, headers: headerLookup(message.headers), body: message });
    });
    if (isReadable(body)) {
      body.pipe(req);
      body.on('error', (err) => req.destroy(err));
    } else {
      req.end(body);
    }
  });
}

/** The body as text, refusing (onTooLarge) to hold more than `max` bytes of it. */
export async function readBounded(res: HttpResponse, max: number, onTooLarge: () => Error): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    res.body.destroy();
    throw onTooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > max) {
      res.body.destroy();
      throw onTooLarge();
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** At most the first `max` bytes of the body, as text; the rest is not read. */
export async function readHead(res: HttpResponse, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      size += chunk.byteLength;
      if (size >= max) break;
    }
  } finally {
    res.body.destroy();
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
