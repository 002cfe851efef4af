// The one HTTP helper: every REST call goes through ApiClient.request/stream (sent by transport.ts).
import type { ErrorBody } from '../protocol/messages.js';
import { DEFAULT_RETRY, parseRetryAfter, retryDelay, type Failure, type RetryPolicy } from './retry.js';
import { isReadable, readBounded, readHead, send, type HeaderLookup, type HttpResponse, type RequestBody } from './transport.js';

export type { HeaderLookup, HttpResponse } from './transport.js';

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
  /** How many times the request was sent before this answer (retries included). */
  attempts = 1;

  constructor(init: { status: number; code: string; message: string; body: Partial<ErrorBody>; headers?: HeaderLookup; method: string; url: string }) {
    super(init.message);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.body = init.body;
    this.method = init.method;
    this.url = init.url;
    const h = init.headers;
    const num = (v: string | null | undefined) => (v != null && v !== '' && Number.isFinite(Number(v)) ? Number(v) : undefined);
    const fromBody = init.body.retry_after_seconds;
    this.retryAfterSeconds = typeof fromBody === 'number' && Number.isFinite(fromBody) ? fromBody : parseRetryAfter(h?.get('retry-after'));
    this.rateLimit = {
      limit: num(h?.get('x-ratelimit-limit')) ?? (typeof init.body.limit === 'number' ? init.body.limit : undefined),
      remaining: num(h?.get('x-ratelimit-remaining')),
      reset: num(h?.get('x-ratelimit-reset')),
    };
  }
}

/** The API could not be reached, or the connection failed or timed out before a full answer. */
export class ConnectionError extends Error {
  /** How many times the request was tried. */
  attempts = 1;

  constructor(
    message: string,
    readonly url: string,
    /** The connection was never established: the server cannot have seen the request. */
    readonly neverSent = false,
    /** The request used up its time budget. */
    readonly timedOut = false,
    /** Retrying cannot help (unknown host, forbidden port). */
    readonly permanent = false,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | Array<string>>;
  body?: unknown;
  /** Raw body instead of JSON. */
  rawBody?: RequestBody;
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

export interface ApiClientOptions {
  /** Receives one line per request and response, the token already redacted. */
  debug?: (line: string) => void;
  /** Receives user-facing notices (a retry is coming), the token already redacted. */
  notice?: (line: string) => void;
  retry?: Partial<RetryPolicy>;
  /** Time budget of one non-streaming attempt, replacing the 30 s / 120 s defaults; for streams, the wait for the response headers. */
  timeoutMs?: number;
  /** Largest JSON answer read into memory. */
  maxBodyBytes?: number;
}

/** Largest JSON answer the client reads (a list page of 50 sprites is a few KiB). */
export const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** Error bodies are only shown, so only their start is read. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

const NEVER_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);
const PERMANENT_CODES = new Set(['ENOTFOUND']);

export class ApiClient {
  private readonly options: ApiClientOptions;
  readonly retryPolicy: RetryPolicy;

  constructor(
    readonly target: ApiTarget,
    debugOrOptions?: ((line: string) => void) | ApiClientOptions,
  ) {
    this.options = typeof debugOrOptions === 'function' ? { debug: debugOrOptions } : (debugOrOptions ?? {});
    this.retryPolicy = { ...DEFAULT_RETRY, ...this.options.retry };
  }

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
    this.options.debug?.(redact(line, this.target.token));
  }

  private notice(line: string): void {
    this.options.notice?.(redact(line, this.target.token));
  }

  /**
   * A JSON request; resolves with the parsed body (undefined for 204 / empty). Idempotent methods
   * are retried (see retry.ts); each attempt has its own time budget.
   */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const timeoutMs = this.options.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const max = this.options.maxBodyBytes ?? MAX_BODY_BYTES;
    const { status, text } = await this.withRetries(method, path, options, async () => {
      const signal = combine(timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined, options.signal);
      const res = await this.sendOnce(method, path, options, signal, timeoutMs);
      try {
        return { status: res.status, text: await readBounded(res, max, () => tooLarge(res.status, method, this.url(path), max)) };
      } catch (err) {
        if (err instanceof ApiError) throw err;
        throw this.connectionError(err, method, path, timeoutMs, 'reading the answer');
      }
    });
    if (text === '') return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ApiError({
        status,
        code: 'invalid_response',
        message: `${method} ${path}: the server answered ${status} with a body that is not JSON`,
        body: {},
        method,
        url: this.url(path),
      });
    }
  }

  /**
   * A request whose body the caller reads as a stream (NDJSON: see events.ts). The response
   * headers must arrive within the time budget; the body has no total timeout (the reader keeps an
   * idle timeout). Retried like request() until the headers arrive.
   */
  async stream(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const timeoutMs = this.options.timeoutMs ?? options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return this.withRetries(method, path, options, async () => {
      const headersTimeout = new AbortController();
      const timer = timeoutMs > 0 ? setTimeout(() => headersTimeout.abort(new DOMException('headers timeout', 'TimeoutError')), timeoutMs) : undefined;
      try {
        return await this.sendOnce(method, path, options, combine(headersTimeout.signal, options.signal), timeoutMs);
      } finally {
        clearTimeout(timer);
      }
    });
  }

  private async withRetries<R>(method: string, path: string, options: RequestOptions, attempt: () => Promise<R>): Promise<R> {
    // A streamed request body cannot be sent twice.
    const replayable = !isReadable(options.rawBody);
    for (let n = 1; ; n++) {
      try {
        return await attempt();
      } catch (err) {
        if (!(err instanceof ApiError) && !(err instanceof ConnectionError)) throw err;
        err.attempts = n;
        const failure: Failure =
          err instanceof ApiError
            ? { kind: 'status', status: err.status, retryAfterSeconds: err.retryAfterSeconds }
            : { kind: 'connection', neverSent: err.neverSent, timedOut: err.timedOut || err.permanent };
        const wait = replayable ? retryDelay(failure, method, n, this.retryPolicy) : undefined;
        if (wait === undefined) throw err;
        const why = err instanceof ApiError ? `the server answered ${err.status}` : err.message;
        this.notice(`${method} ${path}: ${why}; retrying in ${(wait / 1000).toFixed(1)}s (attempt ${n + 1} of ${this.retryPolicy.maxAttempts})`);
        await sleep(wait, options.signal);
      }
    }
  }

  private async sendOnce(method: string, path: string, options: RequestOptions, signal: AbortSignal | undefined, timeoutMs: number): Promise<HttpResponse> {
    const url = this.url(path, options.query);
    const headers = this.headers({ accept: options.accept ?? 'application/json' });
    let body: RequestBody | undefined;
    if (options.rawBody !== undefined) {
      body = options.rawBody;
      headers['content-type'] = 'application/octet-stream';
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    const started = Date.now();
    this.trace(`--> ${method} ${url}`);
    let res: HttpResponse;
    try {
      res = await send(url, { method, headers, body, signal });
    } catch (err) {
      this.trace(`<-- ${method} ${url} failed: ${describeError(err)}`);
      throw this.connectionError(err, method, path, timeoutMs, 'connecting');
    }
    this.trace(`<-- ${res.status} ${method} ${url} (${Date.now() - started} ms)`);
    if (res.status >= 400) throw await errorFromResponse(res, method, url, this.target.token);
    return res;
  }

  private connectionError(err: unknown, method: string, path: string, timeoutMs: number, phase: string): unknown {
    const e = err as Error & { code?: string; cause?: { code?: string } };
    if (e?.name === 'TimeoutError') {
      return new ConnectionError(`${method} ${this.target.baseUrl}${path}: no answer within ${timeoutMs / 1000}s`, this.target.baseUrl, false, true);
    }
    // The caller's own abort (Ctrl-C): not a connection problem.
    if (e?.name === 'AbortError') return err;
    const code = e?.code ?? e?.cause?.code ?? '';
    const detail = redact(describeError(err), this.target.token);
    if (phase === 'connecting') {
      return new ConnectionError(
        `cannot reach the API at ${this.target.baseUrl}: ${detail}`,
        this.target.baseUrl,
        NEVER_SENT_CODES.has(code) || /bad port/i.test(detail),
        false,
        PERMANENT_CODES.has(code) || /bad port/i.test(detail),
      );
    }
    return new ConnectionError(`the connection to ${this.target.baseUrl} broke while ${phase} of ${method} ${path}: ${detail}`, this.target.baseUrl);
  }
}

function combine(...signals: Array<AbortSignal | undefined>): AbortSignal | undefined {
  const present = signals.filter((s): s is AbortSignal => s !== undefined);
  if (present.length === 0) return undefined;
  return present.length === 1 ? present[0] : AbortSignal.any(present);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function tooLarge(status: number, method: string, url: string, max: number): ApiError {
  return new ApiError({
    status,
    code: 'response_too_large',
    message: `${method} ${url}: the answer is larger than ${max} bytes; not reading it`,
    body: {},
    method,
    url,
  });
}

export async function errorFromResponse(res: HttpResponse, method: string, url: string, token?: string): Promise<ApiError> {
  let text = '';
  try {
    text = await readHead(res, MAX_ERROR_BODY_BYTES);
  } catch {
    // The body could not be read; the status alone must do.
  }
  // A server that echoes the request back must not make us print the token.
  return apiErrorFrom(res.status, redact(text, token), res.headers, method, url);
}

/** Turn a status and a body (JSON or plain text) into an ApiError. Also used for failed upgrades. */
export function apiErrorFrom(status: number, text: string, headers: HeaderLookup | undefined, method: string, url: string): ApiError {
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

function describeError(err: unknown): string {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  if (e.code) return `${e.code}${e.message ? ` (${e.message})` : ''}`;
  if (e.cause?.code) return `${e.cause.code}${e.cause.message ? ` (${e.cause.message})` : ''}`;
  if (e.cause?.message) return e.cause.message;
  return e.message ?? String(err);
}
