// Exec and sessions (SPRITES-API.md §2–§5): WebSocket exec and attach, the sessions list, the kill
// endpoint and the HTTP exec fallback. Every exec is a session in the registry.
import { constants as osConstants } from 'node:os';
import type { Engine } from '../server.js';
import type { HttpRoute, UpgradeRoute } from '../router.js';
import { HttpError, readJson, sendJson, startNdjson } from '../http.js';
import { SessionRegistry, type Session } from '../sessions.js';
import { SpawnError } from '../driver.js';
import { flag, parseExecQuery } from '../exec-request.js';
import { attachHttp, attachWebSocket } from '../exec-clients.js';
import { parseDuration } from '../../protocol/duration.js';
import type { ListSessionsResponse } from '../../protocol/messages.js';

/** The upgrade response says the socket accepts signal messages. */
const CAPABILITIES = { 'X-Sprite-Capabilities': 'signal' };
const DEFAULT_KILL_TIMEOUT_MS = 10_000;

const registries = new WeakMap<Engine, SessionRegistry>();

/** The engine's one session registry (shared by exec, ports and whatever stops sprites). */
export function sessionsOf(engine: Engine): SessionRegistry {
  let registry = registries.get(engine);
  if (!registry) {
    registry = new SessionRegistry(engine.driver, engine.store);
    registries.set(engine, registry);
    const r = registry;
    engine.onStopSprite((name) => r.stopSprite(name));
    engine.onClose(() => r.closeAll());
  }
  return registry;
}

async function startSession(engine: Engine, name: string, query: URLSearchParams): Promise<Session> {
  engine.store.require(name);
  const req = parseExecQuery(query, name, engine.store, engine.driver);
  // The sandbox driver builds the sprite's namespaces on first use (a no-op for host).
  await engine.driver.prepare(name);
  try {
    return sessionsOf(engine).start(req);
  } catch (err) {
    if (err instanceof SpawnError) throw new HttpError(400, 'invalid_request', err.message);
    throw err;
  }
}

function findSession(engine: Engine, name: string, id: string): Session {
  engine.store.require(name);
  const session = sessionsOf(engine).get(name, id);
  if (!session) throw new HttpError(404, 'session_not_found', `no session ${id} in sprite ${name}`);
  return session;
}

export function installExec(engine: Engine): void {
  const sessions = sessionsOf(engine);

  const upgrades: UpgradeRoute[] = [
    {
      path: '/v1/sprites/:name/exec',
      async handle({ req, socket, head, params, query }) {
        const attachId = query.get('id');
        if (attachId) {
          // Older servers' attach form.
          const session = findSession(engine, params.name!, attachId);
          attachWebSocket(await engine.accept(req, socket, head, CAPABILITIES), session, { replay: true });
          return;
        }
        const session = await startSession(engine, params.name!, query);
        if (!session.tty && !(flag(query, 'stdin') ?? false)) session.endStdin();
        attachWebSocket(await engine.accept(req, socket, head, CAPABILITIES), session, { replay: true });
      },
    },
    {
      path: '/v1/sprites/:name/exec/:id',
      async handle({ req, socket, head, params }) {
        const session = findSession(engine, params.name!, params.id!);
        attachWebSocket(await engine.accept(req, socket, head, CAPABILITIES), session, { replay: true });
      },
    },
  ];
  engine.router.addUpgrade(...upgrades);

  const routes: HttpRoute[] = [
    {
      method: 'GET',
      path: '/v1/sprites/:name/exec',
      async handle({ res, params }) {
        engine.store.require(params.name!);
        const list = sessions.list(params.name!).map((s) => s.summary());
        const body: ListSessionsResponse = { sessions: list, count: list.length };
        sendJson(res, 200, body);
      },
    },
    {
      method: 'POST',
      path: '/v1/sprites/:name/exec',
      async handle({ req, res, params, query }) {
        for (const refused of ['tty', 'id', 'cc']) {
          if (query.has(refused)) throw new HttpError(400, 'invalid_request', `${refused} is not supported by HTTP exec; use the WebSocket exec`);
        }
        const session = await startSession(engine, params.name!, query);
        attachHttp(req, res, session, flag(query, 'stdin') ?? false, CAPABILITIES);
      },
    },
    {
      method: 'POST',
      path: '/v1/sprites/:name/exec/:id/kill',
      async handle({ req, res, params, query }) {
        const session = findSession(engine, params.name!, params.id!);
        // One official SDK sends the options as a JSON body instead of the query.
        const body = await readJson(req);
        const signal = parseSignal(query.get('signal') ?? (typeof body.signal === 'string' ? body.signal : 'SIGTERM'));
        const timeoutRaw = query.get('timeout') ?? (typeof body.timeout === 'string' || typeof body.timeout === 'number' ? String(body.timeout) : null);
        const timeoutMs = timeoutRaw === null ? DEFAULT_KILL_TIMEOUT_MS : parseDuration(timeoutRaw);
        if (timeoutMs === null) throw new HttpError(400, 'invalid_request', `timeout ${JSON.stringify(timeoutRaw)} is not a duration (e.g. 10s)`);
        if (!session.isActive) throw new HttpError(410, 'session_exited', `session ${session.id} has already exited (code ${session.exitCode})`);
        const emit = startNdjson(res);
        await session.kill(signal, timeoutMs, emit);
        res.end();
      },
    },
  ];
  engine.router.add(...routes);
}

/** `TERM`, `SIGTERM`, `sigterm` or a number → a signal name Node knows; else 400. */
export function parseSignal(text: string): NodeJS.Signals {
  const t = text.trim().toUpperCase();
  if (/^\d+$/.test(t)) {
    const entry = Object.entries(osConstants.signals).find(([, n]) => n === Number(t));
    if (entry) return entry[0] as NodeJS.Signals;
  } else {
    const name = t.startsWith('SIG') ? t : `SIG${t}`;
    if (name in osConstants.signals) return name as NodeJS.Signals;
  }
  throw new HttpError(400, 'invalid_signal', `unknown signal ${JSON.stringify(text)} (use a name such as TERM, INT, KILL)`);
}
