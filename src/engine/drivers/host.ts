// The host driver: a sprite's processes are the engine user's processes, run in the sprite's
// directory; "localhost" inside the sprite is the host's loopback.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ListeningPort, SpawnRequest, SpriteDriver, SpriteProcess } from '../driver.js';

export class HostDriver implements SpriteDriver {
  readonly name = 'host' as const;

  async prepare(): Promise<void> {}

  spawn(_req: SpawnRequest): SpriteProcess {
    throw new Error('process spawning is not available yet in the host driver');
  }

  dial(_sprite: string, host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: host === '' || host === 'localhost' ? '127.0.0.1' : host, port });
      socket.setNoDelay(true);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(socket);
      });
      socket.once('error', reject);
    });
  }

  async listeningPorts(_sprite: string, _pids: number[]): Promise<ListeningPort[]> {
    return [];
  }

  async release(): Promise<void> {}
}
