// ports/watch (SPRITES-API.md §6, end): the ports listened on in a sprite, then every change.
import type { Engine } from '../server.js';
import { sessionsOf } from './exec.js';

export function installPorts(engine: Engine): void {
  const sessions = sessionsOf(engine);
  engine.router.addUpgrade({
    path: '/v1/sprites/:name/ports/watch',
    async handle({ req, socket, head, params }) {
      const name = params.name!;
      engine.store.require(name);
      const ws = await engine.accept(req, socket, head);
      const ports = sessions.openPorts(name).map(({ port, address, pid }) => ({ port, address, pid }));
      ws.send(JSON.stringify({ type: 'port_list', ports }));
      const unwatch = sessions.watchPorts(name, (event) => ws.send(JSON.stringify(event)));
      ws.on('error', () => {});
      ws.once('close', unwatch);
    },
  });
}
