// Sprites REST (SPRITES-API.md §1).
import type { Engine } from '../server.js';
import type { HttpRoute } from '../router.js';
import { HttpError, readJson, sendEmpty, sendJson } from '../http.js';
import { spriteNameProblem } from '../../protocol/names.js';
import type { CreateSpriteRequest, ListSpritesResponse, UpdateSpriteRequest } from '../../protocol/messages.js';

const CONFIG_KEYS = new Set(['ram_mb', 'cpus', 'region', 'storage_gb']);
const CREATE_KEYS = new Set(['name', 'config', 'environment', 'labels', 'url_settings', 'wait_for_capacity', 'runtime']);

export function spriteRoutes(engine: Engine): HttpRoute[] {
  const { store } = engine;
  return [
    {
      method: 'POST',
      path: '/v1/sprites',
      async handle({ req, res }) {
        const body = await readJson(req);
        const create = parseCreate(body);
        const sprite = await store.create(create);
        sendJson(res, 201, sprite);
      },
    },
    {
      method: 'GET',
      path: '/v1/sprites',
      async handle({ res, query }) {
        sendJson(res, 200, listPage(engine, query));
      },
    },
    {
      method: 'GET',
      path: '/v1/sprites/:name',
      async handle({ res, params }) {
        sendJson(res, 200, store.require(params.name!));
      },
    },
    {
      method: 'PUT',
      path: '/v1/sprites/:name',
      async handle({ req, res, params }) {
        store.require(params.name!);
        const body = await readJson(req);
        const sprite = await store.update(params.name!, parseUpdate(body));
        sendJson(res, 200, sprite);
      },
    },
    {
      method: 'DELETE',
      path: '/v1/sprites/:name',
      async handle({ res, params }) {
        await engine.deleteSprite(params.name!);
        sendEmpty(res, 204);
      },
    },
  ];
}

function listPage(engine: Engine, query: URLSearchParams): ListSpritesResponse {
  const prefix = query.get('prefix') ?? '';
  const maxRaw = query.get('max_results');
  let max = 50;
  if (maxRaw !== null) {
    max = Number(maxRaw);
    if (!Number.isInteger(max) || max < 1 || max > 50) {
      throw new HttpError(400, 'invalid_max_results', 'max_results must be an integer from 1 to 50');
    }
  }
  const token = query.get('continuation_token');
  let after = '';
  if (token) {
    after = Buffer.from(token, 'base64url').toString('utf8');
    if (spriteNameProblem(after) !== null) {
      throw new HttpError(400, 'invalid_continuation_token', 'continuation_token is not one this engine issued');
    }
  }
  const all = engine.store.list().filter((s) => s.name.startsWith(prefix) && s.name > after);
  const page = all.slice(0, max);
  const hasMore = all.length > max;
  const counts = { running: 0, warm: 0, cold: 0 };
  for (const s of engine.store.list()) counts[s.status]++;
  return {
    sprites: page,
    has_more: hasMore,
    next_continuation_token: hasMore ? Buffer.from(page[page.length - 1]!.name).toString('base64url') : null,
    ...counts,
  };
}

function parseCreate(body: Record<string, unknown>): CreateSpriteRequest {
  for (const key of Object.keys(body)) {
    if (!CREATE_KEYS.has(key)) throw new HttpError(400, 'invalid_request', `unknown field ${JSON.stringify(key)}`);
  }
  if (typeof body.name !== 'string') throw new HttpError(400, 'invalid_name', 'name is required and must be a string');
  const problem = spriteNameProblem(body.name);
  if (problem) throw new HttpError(400, 'invalid_name', problem);
  const req: CreateSpriteRequest = { name: body.name };
  if (body.labels !== undefined) req.labels = parseLabels(body.labels);
  if (body.environment !== undefined) {
    if (!isStringRecord(body.environment)) {
      throw new HttpError(400, 'invalid_request', 'environment must be an object of string values');
    }
    req.environment = body.environment;
  }
  if (body.config !== undefined) {
    if (typeof body.config !== 'object' || body.config === null || Array.isArray(body.config)) {
      throw new HttpError(400, 'invalid_request', 'config must be an object');
    }
    const c = body.config as Record<string, unknown>;
    for (const key of Object.keys(c)) {
      if (!CONFIG_KEYS.has(key)) throw new HttpError(400, 'invalid_request', `unknown field config.${key}`);
    }
    for (const k of ['ram_mb', 'cpus', 'storage_gb'] as const) {
      if (c[k] !== undefined && (typeof c[k] !== 'number' || !(c[k] as number > 0))) {
        throw new HttpError(400, 'invalid_request', `config.${k} must be a positive number`);
      }
    }
    if (c.region !== undefined && typeof c.region !== 'string') throw new HttpError(400, 'invalid_request', 'config.region must be a string');
    req.config = c as CreateSpriteRequest['config'];
  }
  if (body.url_settings !== undefined) req.url_settings = parseUrlSettings(body.url_settings);
  if (body.wait_for_capacity !== undefined) {
    if (typeof body.wait_for_capacity !== 'boolean') throw new HttpError(400, 'invalid_request', 'wait_for_capacity must be true or false');
    req.wait_for_capacity = body.wait_for_capacity;
  }
  if (body.runtime !== undefined) {
    if (body.runtime !== 'default' && body.runtime !== 'dev') throw new HttpError(400, 'invalid_request', 'runtime must be "default" or "dev"');
    req.runtime = body.runtime;
  }
  return req;
}

function parseUpdate(body: Record<string, unknown>): UpdateSpriteRequest {
  const req: UpdateSpriteRequest = {};
  for (const key of Object.keys(body)) {
    if (key !== 'labels' && key !== 'url_settings') {
      throw new HttpError(400, 'invalid_request', `field ${JSON.stringify(key)} cannot be updated`);
    }
  }
  if (body.labels !== undefined) req.labels = parseLabels(body.labels);
  if (body.url_settings !== undefined) req.url_settings = parseUrlSettings(body.url_settings);
  return req;
}

function parseLabels(value: unknown): string[] {
  if (!Array.isArray(value) || !value.every((l) => typeof l === 'string' && l.length > 0 && l.length <= 128)) {
    throw new HttpError(400, 'invalid_request', 'labels must be an array of non-empty strings (at most 128 characters each)');
  }
  return value as string[];
}

function parseUrlSettings(value: unknown): CreateSpriteRequest['url_settings'] {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError(400, 'invalid_request', 'url_settings must be an object');
  const v = value as Record<string, unknown>;
  for (const key of Object.keys(v)) {
    if (key !== 'auth' && key !== 'private_access') throw new HttpError(400, 'invalid_request', `unknown field url_settings.${key}`);
  }
  if (v.auth !== undefined && v.auth !== 'sprite' && v.auth !== 'public') {
    throw new HttpError(400, 'invalid_request', 'url_settings.auth must be "sprite" or "public"');
  }
  if (v.private_access !== undefined && v.private_access !== 'admins' && v.private_access !== 'org_users') {
    throw new HttpError(400, 'invalid_request', 'url_settings.private_access must be "admins" or "org_users"');
  }
  return v as CreateSpriteRequest['url_settings'];
}

function isStringRecord(v: unknown): v is Record<string, string> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}
