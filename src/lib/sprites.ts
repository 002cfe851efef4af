// Sprite lifecycle calls (SPRITES-API.md §1) on top of ApiClient.
import type { CreateSpriteRequest, ListSpritesResponse, Sprite, UpdateSpriteRequest } from '../protocol/messages.js';
import { ApiClient, ApiError, CREATE_TIMEOUT_MS, apiPath } from './api.js';
import { UsageError } from './errors.js';

/** Re-word a 404 for a named sprite the same way whatever the server said. */
export function notFound(err: unknown, name: string): unknown {
  if (err instanceof ApiError && err.status === 404) {
    return new ApiError({ status: 404, code: err.code, message: `no sprite named ${name}`, body: err.body, method: err.method, url: err.url });
  }
  return err;
}

export async function createSprite(api: ApiClient, req: CreateSpriteRequest): Promise<Sprite> {
  try {
    return await api.request<Sprite>('POST', '/v1/sprites', { body: req, timeoutMs: CREATE_TIMEOUT_MS });
  } catch (err) {
    if (err instanceof ApiError && (err.status === 409 || (err.status === 400 && /exist/i.test(err.message)))) {
      throw new ApiError({ status: err.status, code: err.code, message: `a sprite named ${req.name} already exists`, body: err.body, method: err.method, url: err.url });
    }
    if (err instanceof ApiError && err.status === 429) throw rateLimited(err, req.name);
    throw err;
  }
}

/** A 429 on create, said in full: which limit, how far along, when to try again. */
export function rateLimited(err: ApiError, name: string): ApiError {
  const b = err.body;
  const limit = b.limit ?? err.rateLimit.limit;
  const parts: string[] = [];
  if (err.code === 'concurrent_sprite_limit_exceeded') parts.push('too many sprites at once');
  else if (err.code === 'sprite_creation_rate_limited') parts.push('too many sprites created recently');
  if (err.message && !/^HTTP \d+$/.test(err.message)) parts.push(err.message);
  const counts: string[] = [];
  if (limit !== undefined) counts.push(`limit ${limit}${b.window_seconds !== undefined ? ` per ${b.window_seconds}s` : ''}`);
  if (b.current_count !== undefined) counts.push(`current count ${b.current_count}`);
  let message = `cannot create ${name}: ${parts.join(': ') || 'rate limited'}`;
  if (counts.length) message += ` (${counts.join(', ')})`;
  message += err.retryAfterSeconds !== undefined ? `; retry in ${Math.ceil(err.retryAfterSeconds)}s` : '; retry later';
  if (b.upgrade_available && b.upgrade_url) message += `; a higher limit: ${b.upgrade_url}`;
  return new ApiError({ status: 429, code: err.code, message, body: b, method: err.method, url: err.url });
}

export async function getSprite(api: ApiClient, name: string): Promise<Sprite> {
  try {
    return await api.request<Sprite>('GET', apiPath('sprites', name));
  } catch (err) {
    throw notFound(err, name);
  }
}

export async function updateSprite(api: ApiClient, name: string, req: UpdateSpriteRequest): Promise<Sprite> {
  try {
    return await api.request<Sprite>('PUT', apiPath('sprites', name), { body: req });
  } catch (err) {
    throw notFound(err, name);
  }
}

export async function deleteSprite(api: ApiClient, name: string): Promise<void> {
  try {
    await api.request<void>('DELETE', apiPath('sprites', name));
  } catch (err) {
    throw notFound(err, name);
  }
}

export interface ListOptions {
  prefix?: string;
  /** Stop after this many sprites (all when undefined). */
  limit?: number;
}

/** Every sprite (or up to `limit`), following continuation tokens page by page. */
export async function listSprites(api: ApiClient, options: ListOptions = {}): Promise<Sprite[]> {
  const out: Sprite[] = [];
  let token: string | undefined;
  const seen = new Set<string>();
  for (;;) {
    const want = options.limit === undefined ? 50 : Math.min(50, options.limit - out.length);
    const page = await api.request<ListSpritesResponse>('GET', '/v1/sprites', {
      query: { prefix: options.prefix || undefined, max_results: want, continuation_token: token },
    });
    out.push(...(page.sprites ?? []));
    if (options.limit !== undefined && out.length >= options.limit) return out.slice(0, options.limit);
    const next = page.has_more ? page.next_continuation_token : null;
    if (!next) return out;
    // A server that repeats a token would loop forever.
    if (seen.has(next)) throw new ApiError({ status: 200, code: 'invalid_response', message: 'the server repeated a continuation token', body: {}, method: 'GET', url: api.url('/v1/sprites') });
    seen.add(next);
    token = next;
  }
}

/** Parse repeated KEY=VALUE flags; values may hold `=` and commas. */
export function parseKeyValues(items: string[] | undefined, flag: string): Record<string, string> {
  // A Map, then fromEntries: a key such as __proto__ must become a plain own property.
  const out = new Map<string, string>();
  for (const item of items ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`${flag} ${JSON.stringify(item)}: expected KEY=VALUE`);
    const key = item.slice(0, eq);
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new UsageError(`${flag} ${JSON.stringify(item)}: ${JSON.stringify(key)} is not a valid variable name (letters, digits, _; not starting with a digit)`);
    }
    out.set(key, item.slice(eq + 1));
  }
  return Object.fromEntries(out);
}
