// Engine-only routes (not in the hosted API): what this engine is, for `sprites local status`.
import type { Engine } from '../server.js';
import type { HttpRoute } from '../router.js';
import { SERVER_VERSION, sendJson } from '../http.js';

export function engineRoutes(engine: Engine): HttpRoute[] {
  return [
    {
      method: 'GET',
      path: '/v1/local/status',
      async handle({ res }) {
        sendJson(res, 200, {
          version: SERVER_VERSION,
          pid: process.pid,
          url: engine.url,
          data_dir: engine.options.dataDir,
          started_at: engine.startedAt.toISOString(),
          sprites: engine.store.list().length,
          isolation: engine.isolation,
        });
      },
    },
  ];
}
