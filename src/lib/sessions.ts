// Session calls (SPRITES-API.md §3, §4) on top of ApiClient: list and kill.
import { Writable } from 'node:stream';
import { ApiClient, ApiError, apiPath, type HttpResponse } from './api.js';
import { ExecSession } from './exec.js';
import { OperationError } from './errors.js';
import { NdjsonParser } from '../protocol/ndjson.js';
import type { KillEvent, ListSessionsResponse, SessionSummary } from '../protocol/messages.js';

export async function listSessions(api: ApiClient, sprite: string): Promise<SessionSummary[]> {
  const body = await api.request<ListSessionsResponse>('GET', apiPath('sprites', sprite, 'exec'));
  // Ids arrive as numbers from some servers: treat them as strings.
  return (body?.sessions ?? []).map((s) => ({ ...s, id: String(s.id) }));
}

export interface KillOptions {
  signal: string;
  timeout: string;
}

/**
 * Kill a session and yield the server's NDJSON events. A 410 (already exited) yields one
 * synthetic `exited` event; a 404 becomes an ApiError naming the session.
 */
export async function* killSession(api: ApiClient, sprite: string, id: string, options: KillOptions): AsyncGenerator<KillEvent> {
  let res: HttpResponse;
  try {
    res = await api.stream('POST', apiPath('sprites', sprite, 'exec', id, 'kill'), {
      query: { signal: options.signal, timeout: options.timeout },
      accept: 'application/x-ndjson',
    });
  } catch (err) {
    if (err instanceof ApiError && err.status === 410) {
      yield { type: 'exited', message: `session ${id} had already exited` };
      return;
    }
    if (err instanceof ApiError && err.status === 404) {
      throw new ApiError({ status: 404, code: err.code, message: `no session ${id} in sprite ${sprite} (see: sprites sessions ${sprite})`, body: err.body, method: err.method, url: err.url });
    }
    throw err;
  }
  const parser = new NdjsonParser();
  for await (const chunk of res.body as AsyncIterable<Buffer>) {
    for (const item of parser.push(chunk)) if (item.ok) yield item.value as KillEvent;
  }
  for (const item of parser.end()) if (item.ok) yield item.value as KillEvent;
}

/** A one-line description of a kill event, for stderr. */
export function describeKillEvent(event: KillEvent): string {
  if (event.type === 'complete') return `complete: exit code ${event.exit_code}`;
  return `${event.type}: ${event.message}`;
}

/** How long `exec --detach` waits for session_info before looking the new session up instead. */
const SESSION_INFO_WAIT_MS = 3000;

export interface DetachedStart {
  argv: string[];
  env?: Record<string, string>;
  dir?: string;
  cols: number;
  rows: number;
}

/**
 * Start a TTY session and leave it running; resolves with its id. The id comes from
 * session_info, or (servers that send it only on attach) from the sessions list.
 */
export async function startDetached(api: ApiClient, sprite: string, req: DetachedStart): Promise<string> {
  const started = Date.now();
  const discard = new Writable({ write: (_c, _e, cb) => cb() });
  let onInfo!: (id: string) => void;
  const info = new Promise<string>((resolve) => (onInfo = resolve));
  const session = new ExecSession(api, sprite, { argv: req.argv, env: req.env, dir: req.dir, tty: true, cols: req.cols, rows: req.rows, stdin: false }, { stdout: discard, stderr: discard }, {
    onSessionInfo: (msg) => onInfo(String(msg.session_id)),
  });
  await session.open();
  let timer: NodeJS.Timeout | undefined;
  const id = await Promise.race([info, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), SESSION_INFO_WAIT_MS))), session.done.then(() => undefined, () => undefined)]);
  clearTimeout(timer);
  session.detach();
  if (id !== undefined) return id;
  const command = req.argv.join(' ');
  const candidates = (await listSessions(api, sprite))
    .filter((s) => s.command === command && Date.parse(s.created) >= started - 5000)
    .sort((a, b) => Date.parse(b.created) - Date.parse(a.created));
  if (!candidates[0]) throw new OperationError(`the session for "${command}" started, but sprite ${sprite} does not list it`);
  return candidates[0].id;
}
