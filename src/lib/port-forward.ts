// Auto-forwarding of ports a remote command opens (SPRITES-API.md §2 port_opened): a listener on
// 127.0.0.1:PORT whose every connection is one proxy WebSocket (§6) to localhost:PORT in the sprite.
import { createServer, type Server, type Socket } from 'node:net';
import type { ApiClient } from './api.js';
import { TUNNEL_SERVER_OPTIONS, tunnelSocket } from './proxy.js';
import { acceptReadingIntoSlabs } from './socket-reads.js';

export class PortForwarder {
  private readonly listeners = new Map<number, Server>();

  constructor(
    private readonly api: ApiClient,
    private readonly sprite: string,
    private readonly notice: (line: string) => void,
  ) {}

  /** Listen on 127.0.0.1:port and forward to the same port in the sprite. */
  open(port: number): void {
    if (this.listeners.has(port)) return;
    const server = createServer(TUNNEL_SERVER_OPTIONS, (socket) => this.forward(socket, port));
    this.listeners.set(port, server);
    server.once('error', (err) => {
      this.listeners.delete(port);
      this.notice(`port ${port} opened in ${this.sprite}, but 127.0.0.1:${port} cannot be forwarded here: ${(err as NodeJS.ErrnoException).code ?? err.message}`);
    });
    server.listen(port, '127.0.0.1', () => this.notice(`port ${port} opened in ${this.sprite}: forwarding 127.0.0.1:${port}`));
  }

  close(port: number): void {
    const server = this.listeners.get(port);
    if (!server) return;
    this.listeners.delete(port);
    server.close();
    this.notice(`port ${port} closed in ${this.sprite}: stopped forwarding`);
  }

  closeAll(): void {
    for (const server of this.listeners.values()) server.close();
    this.listeners.clear();
  }

  private forward(socket: Socket, port: number): void {
    tunnelSocket(this.api, this.sprite, { host: '', port }, acceptReadingIntoSlabs(socket));
  }
}
