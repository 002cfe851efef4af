// When and how long to wait before retrying a request (issue 8): pure, so it can be tested alone.

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxAttempts: number;
  /** Backoff before the first retry; doubled for each further one. */
  baseDelayMs: number;
  /** Cap of one backoff wait (before jitter). */
  maxDelayMs: number;
  /** A server asking to wait longer than this is not retried; the error says when to come back. */
  maxRetryAfterMs: number;
}

/** 4 attempts, waits of about 0.5 s, 1 s, 2 s; a Retry-After of up to 30 s is honoured. */
export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 4, baseDelayMs: 500, maxDelayMs: 8000, maxRetryAfterMs: 30_000 };

/** Statuses worth another try: the server or a proxy in front of it is briefly unable to answer. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/** Methods that may be repeated without changing the outcome. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

export type Failure =
  | { kind: 'status'; status: number; retryAfterSeconds: number | undefined }
  /** `neverSent`: the connection was refused, so the server cannot have seen the request. */
  | { kind: 'connection'; neverSent: boolean; timedOut: boolean };

/**
 * Milliseconds to wait before attempt `attempt + 1`, or undefined to give up. Non-idempotent
 * requests are only retried when the server provably never saw them.
 */
export function retryDelay(
  failure: Failure,
  method: string,
  attempt: number,
  policy: RetryPolicy = DEFAULT_RETRY,
  random: () => number = Math.random,
): number | undefined {
  if (attempt >= policy.maxAttempts) return undefined;
  const idempotent = IDEMPOTENT_METHODS.has(method.toUpperCase());
  if (failure.kind === 'connection') {
    // A request that already used its whole time budget is not started again: commands stay bounded.
    if (failure.timedOut) return undefined;
    if (!idempotent && !failure.neverSent) return undefined;
  } else {
    if (!idempotent || !RETRYABLE_STATUSES.has(failure.status)) return undefined;
    if (failure.retryAfterSeconds !== undefined && failure.retryAfterSeconds >= 0) {
      const ms = failure.retryAfterSeconds * 1000;
      return ms > policy.maxRetryAfterMs ? undefined : ms;
    }
  }
  const backoff = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  // Equal jitter: half fixed, half random, so many clients do not retry in lockstep.
  return Math.round(backoff / 2 + random() * (backoff / 2));
}

/** Seconds from a Retry-After header: a number of seconds or an HTTP date. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value == null || value.trim() === '') return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Number(v);
  const t = Date.parse(v);
  if (Number.isNaN(t)) return undefined;
  return Math.max(0, Math.ceil((t - now) / 1000));
}
