// The only way out of a sandboxed sprite: an HTTP proxy in the engine (CONNECT tunnels and
// absolute-URI requests), reached from the sprite's 127.0.0.1:3128 through its net agent.
// Every connection is checked against the sprite's network policy by name; a policy change
// re-checks the live ones and cuts those to names that are now denied.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type Socket } from 'node:net';
import { readFile, rm } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import type { NetworkPolicy } from '../../protocol/policy.js';
import { decide } from './network-policy.js';

/** Where the proxy appears inside every sandboxed sprite. */
export const EGRESS_PORT = 3128;

export interface EgressOptions {
  /** The sprite's current network policy. */
  policy(): Promise<NetworkPolicy>;
  /** The sprite's /etc/hosts as the host can read it: names the sprite pins are dialled there. */
  hostsFile(): string;
}

interface Live {
  host: string;
  sockets: Duplex[];
}

export class Egress {
  private readonly server: Server;
  private readonly live = new Set<Live>();

  constructor(private readonly options: EgressOptions) {
    this.server = createServer((req, res) => void this.forward(req, res));
    this.server.on('connect', (req: IncomingMessage, socket: Duplex, head: Buffer) => void this.tunnel(req, socket, head));
    this.server.on('clientError', (_err, socket: Duplex) => socket.destroy());
  }

  listen(path: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(path, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
  }

  /** Cut every live connection the current policy no longer allows. */
  async recheck(): Promise<void> {
    const policy = await this.options.policy();
    for (const conn of this.live) {
      if (!decide(policy, conn.host).allowed) for (const s of conn.sockets) s.destroy();
    }
  }

  async close(path: string): Promise<void> {
    for (const conn of this.live) for (const s of conn.sockets) s.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(path, { force: true });
  }

  private track(host: string, ...sockets: Duplex[]): void {
    const entry: Live = { host, sockets };
    this.live.add(entry);
    for (const s of sockets) s.once('close', () => this.live.delete(entry));
  }

  /** Why the sprite may not reach host, or undefined when it may. */
  private async refusal(host: string): Promise<string | undefined> {
    const verdict = decide(await this.options.policy(), host);
    return verdict.allowed ? undefined : verdict.reason;
  }

  /** The address to dial: the sprite's own hosts entry for the name, else the name itself. */
  private async address(host: string): Promise<string> {
    let text = '';
    try {
      text = await readFile(this.options.hostsFile(), 'utf8');
    } catch {
      return host;
    }
    for (const line of text.split('\n')) {
      const [ip, ...names] = line.replace(/#.*/, '').trim().split(/\s+/);
      if (ip && names.some((n) => n.toLowerCase() === host.toLowerCase())) return ip;
    }
    return host;
  }

  private async tunnel(req: IncomingMessage, client: Duplex, head: Buffer): Promise<void> {
    client.on('error', () => client.destroy());
    const target = /^\[?([^\]]+?)\]?:(\d{1,5})$/.exec(req.url ?? '');
    if (!target) {
      client.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    const host = target[1]!;
    const port = Number(target[2]);
    const refused = await this.refusal(host);
    if (refused) {
      client.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${refused}\n`);
      return;
    }
    const upstream: Socket = connect({ host: await this.address(host), port });
    let connected = false;
    upstream.once('error', (err) => {
      if (!connected) client.end(`HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n${err.message}\n`);
      else client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      this.track(host, client, upstream);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.once('close', () => upstream.destroy());
      upstream.once('close', () => client.destroy());
    });
  }

  private async forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '');
      if (url.protocol !== 'http:') throw new Error('only http:// URLs');
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('this proxy takes absolute http:// URLs and CONNECT\n');
      return;
    }
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const refused = await this.refusal(host);
    if (refused) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end(refused + '\n');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    delete headers['proxy-authorization'];
    const upstream = httpRequest({ host: await this.address(host), port: url.port || 80, method: req.method, path: url.pathname + url.search, headers });
    upstream.once('socket', (socket) => this.track(host, req.socket, socket));
    upstream.once('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.once('error', (err) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end(err.message + '\n');
      else res.destroy();
    });
    req.pipe(upstream);
  }
}
