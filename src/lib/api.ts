// The one HTTP helper: every REST call goes through ApiClient.request/stream.
import type { ErrorBody } from '../protocol/messages.js';

export const HOSTED_API = 'https://api.sprites.dev';
export const DEFAULT_TIMEOUT_MS = 30_000;
export const CREATE_TIMEOUT_MS = 120_000;

export interface ApiTarget {
  /** Base URL without a trailing slash, e.g. https://api.sprites.dev or http://127.0.0.1:PORT. */
  baseUrl: string;
  token: string | undefined;
  /** Where the token came from, for error messages: "SPRITES_TOKEN", "stored login", "local engine state". */
  tokenSource: string;
  isLocal: boolean;
}

export interface RateLimit {
  limit?: number;
  remaining?: number;
  reset?: number;
}

/** Any HTTP status >= 400, with what the body and headers said. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly body: Partial<ErrorBody>;
  readonly retryAfterSeconds: number | undefined;
  readonly rateLimit: RateLimit;
  readonly method: string;
  readonly url: string;

  constructor(init: { status: number; code: string; message: string; body: Partial<ErrorBody>; headers?: Headers; method: string; url: string }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.body = init.body;
    this.method = init.method;
    this.url = init.url;
    const h = init.headers;
    const num = (v: string | null | undefined) => (v != null && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
    this.retryAfterSeconds = init.body.retry_after_seconds ?? num(h?.get('retry-after'));
    this.rateLimit = {
      limit: num(h?.get('x-ratelimit-limit')) ?? init.body.limit,
      remaining: num(h?.get('x-ratelimit-remaining')),
      reset: num(h?.get('x-ratelimit-reset')),
    };
  }
}

/** The API could not be reached at all (refused, DNS, timeout). */
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly url: string,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | Array<string>>;
  body?: unknown;
  /** Raw body instead of JSON. */
  rawBody?: RequestInit['body'];
  timeoutMs?: number;
  accept?: string;
  signal?: AbortSignal;
}

/** `/v1/` followed by percent-encoded segments. */
export function apiPath(...segments: string[]): string {
  return '/v1/' + segments.map((s) => encodeURIComponent(s)).join('/');
}

export function buildQuery(query: RequestOptions['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) params.append(k, item);
    else params.append(k, String(v));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

export function redact(text: string, token: string | undefined): string {
  if (!token || token.length < 4) return text;
  return text.split(token).join('[REDACTED]');
}

export class ApiClient {
  constructor(
    readonly target: ApiTarget,
    private readonly debug?: (line: string) => void,
  ) {}

  url(path: string, query?: RequestOptions['query']): string {
    return this.target.baseUrl + path + buildQuery(query);
  }

  /** ws:// or wss:// URL on the same base. */
  wsUrl(path: string, query?: RequestOptions['query']): string {
    return this.url(path, query).replace(/^http/, 'ws');
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { 'user-agent': 'sprites-cli/0.1.0', ...extra };
    if (this.target.token) h.authorization = `Bearer ${this.target.token}`;
    return h;
  }

  trace(line: string): void {
    this.debug?.(redact(line, this.target.token));
  }

  /** A JSON request; resolves with the parsed body (undefined for 204 / empty). */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, options);
    const text = await res.text();
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError({
        status: res.status,
        code: 'invalid_response',
        message: `${method} ${path}: the server answered ${res.status} with a body that is not JSON`,
        body: {},
        method,
        url: this.url(path),
      });
    }
  }

  /** A request whose body is read by the caller as a stream (NDJSON, raw frames). No total timeout. */
  async stream(method: string, path: string, options: RequestOptions = {}): Promise<Response> {
    return this.send(method, path, { ...options, timeoutMs: options.timeoutMs ?? 0 });
  }

  private async send(method: string, path: string, options: RequestOptions): Promise<Response> {
    const url = this.url(path, options.query);
    const headers = this.headers({ accept: options.accept ?? 'application/json' });
    let body: RequestInit['body'] | undefined;
    if (options.rawBody !== undefined) {
      body = options.rawBody;
      headers['content-type'] = 'application/octet-stream';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const signals: AbortSignal[] = [];
    if (timeoutMs > 0) signals.push(AbortSignal.timeout(timeoutMs));
    if (options.signal) signals.push(options.signal);
    const started = Date.now();
    this.trace(`--> ${method} ${url}`);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body,
        signal: signals.length ? AbortSignal.any(signals) : undefined,
        // Streaming request bodies need half-duplex.
        ...(body && typeof body === 'object' && 'getReader' in body ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      this.trace(`<-- ${method} ${url} failed: ${describeFetchError(err)}`);
      if ((err as Error).name === 'TimeoutError') {
        throw new ConnectionError(`${method} ${this.target.baseUrl}: no answer within ${timeoutMs / 1000}s`, this.target.baseUrl);
      }
      if ((err as Error).name === 'AbortError') throw err;
      throw new ConnectionError(`cannot reach the API at ${this.target.baseUrl}: ${describeFetchError(err)}`, this.target.baseUrl);
    }
    this.trace(`<-- ${res.status} ${method} ${url} (${Date.now() - started} ms)`);
    if (res.status >= 400) throw await errorFromResponse(res, method, url);
    return res;
  }
}

export async function errorFromResponse(res: Response, method: string, url: string): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // The body could not be read; the status alone must do.
  }
  return apiErrorFrom(res.status, text, res.headers, method, url);
}

/** Turn a status and a body (JSON or plain text) into an ApiError. Also used for failed upgrades. */
export function apiErrorFrom(status: number, text: string, headers: Headers | undefined, method: string, url: string): ApiError {
  let body: Partial<ErrorBody> = {};
  let message = text.trim();
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
      body = parsed as Partial<ErrorBody>;
      message = body.message ?? body.error ?? '';
    }
  } catch {
    // Plain-text body: it is the message.
  }
  if (message.length > 500) message = message.slice(0, 500) + '…';
  if (!message) message = `HTTP ${status}`;
  const code = typeof body.error === 'string' && /^[a-z0-9_]+$/.test(body.error) ? body.error : `http_${status}`;
  return new ApiError({ status, code, message, body, headers, method, url });
}

function describeFetchError(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  if (e.cause?.code) return `${e.cause.code}${e.cause.message ? ` (${e.cause.message})` : ''}`;
  if (e.cause?.message) return e.cause.message;
  return e.message ?? String(err);
}
