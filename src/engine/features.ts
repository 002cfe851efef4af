// Every engine feature installs its routes and hooks here, one line each.
import type { Engine } from './server.js';
import { engineRoutes } from './routes/engine.js';
import { spriteRoutes } from './routes/sprites.js';
import { installExec } from './routes/exec.js';
import { installPorts } from './routes/ports.js';
import { installProxy } from './routes/proxy.js';
import { checkpointRoutes } from './routes/checkpoints.js';
import { policyRoutes } from './routes/policy.js';

export function installFeatures(engine: Engine): void {
  engine.router.add(...engineRoutes(engine), ...spriteRoutes(engine));
  installExec(engine);
  installPorts(engine);
  installProxy(engine);
  engine.router.add(...checkpointRoutes(engine));
  engine.router.add(...policyRoutes(engine));
}
