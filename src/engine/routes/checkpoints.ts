// Checkpoint routes (SPRITES-API.md §7). Create and restore stream NDJSON; a failure after the
// stream started is an `error` event in the 200 response, as the hosted API does.
import type { Engine } from '../server.js';
import type { HttpRoute } from '../router.js';
import { HttpError, readJson, sendEmpty, sendJson, startNdjson } from '../http.js';
import { Checkpoints, MAX_COMMENT } from '../checkpoints.js';
import type { StreamEvent } from '../../protocol/messages.js';
import type { ServerResponse } from 'node:http';

export function checkpointRoutes(engine: Engine): HttpRoute[] {
  const checkpoints = new Checkpoints(engine);
  engine.store.onLoadSprite((name) => checkpoints.recover(name));
  engine.onStopSprite((name) => checkpoints.settle(name));
  return [
    {
      method: 'POST',
      path: '/v1/sprites/:name/checkpoint',
      async handle({ req, res, params }) {
        engine.store.require(params.name!);
        const comment = parseComment(await readJson(req));
        await streamOperation(res, (emit) => checkpoints.create(params.name!, comment, emit));
      },
    },
    {
      method: 'GET',
      path: '/v1/sprites/:name/checkpoints',
      async handle({ res, params, query }) {
        const history = query.get('history');
        if (history !== null) {
          const chain = await checkpoints.history(params.name!, history);
          res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
          res.end(chain.join('\n') + '\n');
          return;
        }
        // include_auto is accepted; the local engine makes no automatic checkpoints.
        sendJson(res, 200, await checkpoints.list(params.name!));
      },
    },
    {
      method: 'GET',
      path: '/v1/sprites/:name/checkpoints/:id',
      async handle({ res, params }) {
        sendJson(res, 200, await checkpoints.get(params.name!, params.id!));
      },
    },
    {
      method: 'DELETE',
      path: '/v1/sprites/:name/checkpoints/:id',
      async handle({ res, params }) {
        await checkpoints.remove(params.name!, params.id!);
        sendEmpty(res, 204);
      },
    },
    {
      method: 'POST',
      path: '/v1/sprites/:name/checkpoints/:id/restore',
      async handle({ res, params }) {
        // Unknown sprite or id: a plain 404 before any stream starts.
        await checkpoints.get(params.name!, params.id!);
        await streamOperation(res, (emit) => checkpoints.restore(params.name!, params.id!, emit));
      },
    },
  ];
}

function parseComment(body: Record<string, unknown>): string | undefined {
  for (const key of Object.keys(body)) {
    if (key !== 'comment') throw new HttpError(400, 'invalid_request', `unknown field ${JSON.stringify(key)} (a checkpoint request holds only "comment")`);
  }
  if (body.comment === undefined || body.comment === null) return undefined;
  if (typeof body.comment !== 'string') throw new HttpError(400, 'invalid_request', 'comment must be a string');
  if (body.comment.length > MAX_COMMENT) throw new HttpError(400, 'invalid_request', `comment is longer than ${MAX_COMMENT} characters`);
  return body.comment;
}

/** With nothing else to say for this long, the stream repeats its latest `info` (clients time out idle streams). */
const HEARTBEAT_MS = 15_000;

async function streamOperation(res: ServerResponse, run: (emit: (e: StreamEvent) => void) => Promise<void>): Promise<void> {
  const send = startNdjson(res);
  let lastSent = Date.now();
  let lastInfo = 'Working...';
  const emit = (e: StreamEvent) => {
    if (e.type === 'info') lastInfo = e.data;
    lastSent = Date.now();
    send(e);
  };
  // A scan of a huge tree or the copy of one huge file can be silent for minutes.
  const heartbeat = setInterval(() => {
    if (Date.now() - lastSent >= HEARTBEAT_MS) emit({ type: 'info', data: lastInfo, time: new Date().toISOString() });
  }, HEARTBEAT_MS / 3);
  try {
    await run(emit);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    emit({ type: 'error', error: message, time: new Date().toISOString() });
  } finally {
    clearInterval(heartbeat);
  }
  res.end();
}
