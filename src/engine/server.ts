// The local engine's HTTP/WebSocket server: 127.0.0.1 only, every request needs the bearer token.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AddressInfo, Socket, SocketConstructorOpts } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { tokenMatches } from './auth.js';
import { rehome } from './socket-handle.js';
import { slabReads } from '../protocol/read-slabs.js';
import { HttpError, SERVER_VERSION, errorBody, sendError } from './http.js';
import { Router } from './router.js';
import { SpriteStore, StoreError } from './store.js';
import { installFeatures } from './features.js';
import type { SpriteDriver } from './driver.js';
import { HostDriver, hostLedgerDir } from './drivers/host.js';
import { hostIsolation, type IsolationInfo } from './isolation.js';

export interface EngineOptions {
  dataDir: string;
  token: string;
  host?: string;
  port?: number;
  /** How sprites run (or how to build it once the store exists); the host driver when not given. */
  driver?: SpriteDriver | ((store: SpriteStore) => SpriteDriver);
  /** What the driver enforces, for the status route; host properties when not given. */
  isolation?: IsolationInfo;
}

export class Engine {
  readonly store: SpriteStore;
  readonly router = new Router();
  readonly wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, maxPayload: 64 * 1024 * 1024 });
  readonly startedAt = new Date();
  readonly driver: SpriteDriver;
  readonly isolation: IsolationInfo;
  private server: Server | undefined;
  /** Closers registered by subsystems (sessions, proxies) to run on shutdown. */
  private readonly closers: Array<() => Promise<void> | void> = [];
  private readonly stopHooks: Array<(name: string) => Promise<void> | void> = [];

  constructor(readonly options: EngineOptions) {
    this.store = new SpriteStore(options.dataDir);
    const driver = options.driver ?? ((store: SpriteStore) => new HostDriver({ ledgerDir: hostLedgerDir(store) }));
    this.driver = typeof driver === 'function' ? driver(this.store) : driver;
    this.isolation = options.isolation ?? hostIsolation();
    // Closers run in reverse: the sprites are released after every feature has shut down.
    this.onClose(() => this.releaseAll());
    installFeatures(this);
    // After every feature's hooks: the driver lets go of a sprite once nothing runs in it.
    this.onStopSprite((name) => this.driver.release(name));
  }

  private async releaseAll(): Promise<void> {
    await Promise.all(this.store.list().map((sprite) => this.driver.release(sprite.name)));
    await this.driver.close?.();
  }

  onClose(fn: () => Promise<void> | void): void {
    this.closers.push(fn);
  }

  /**
   * Subsystems that run things in a sprite (sessions, proxies) register here how to stop them all.
   * Used before a delete and before a checkpoint restore.
   */
  onStopSprite(fn: (name: string) => Promise<void> | void): void {
    this.stopHooks.push(fn);
  }

  /** Stop everything running in a sprite (its sessions, its proxied connections). */
  async stopSprite(name: string): Promise<void> {
    for (const hook of this.stopHooks) await hook(name);
  }

  async deleteSprite(name: string): Promise<void> {
    this.store.require(name);
    await this.stopSprite(name);
    await this.store.delete(name);
  }

  get url(): string {
    const addr = this.server?.address() as AddressInfo | null;
    if (!addr) throw new Error('engine is not listening');
    return `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  }

  async start(): Promise<void> {
    await this.store.load();
    const server = createServer((req, res) => void this.handleRequest(req, res));
    server.on('upgrade', (req, socket, head) => void this.handleUpgrade(req, readingIntoSlabs(socket as Socket), head));
    // Keep-alive sockets must not hold the engine open on shutdown.
    server.keepAliveTimeout = 5000;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    for (const fn of this.closers.reverse()) await fn();
    for (const client of this.wss.clients) client.terminate();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Complete a WebSocket upgrade that a route accepted. */
  accept(req: IncomingMessage, socket: Duplex, head: Buffer, headers: Record<string, string> = {}): Promise<WebSocket> {
    return new Promise((resolve) => {
      const onHeaders = (lines: string[]) => {
        lines.push(`Sprite-Version: ${SERVER_VERSION}`);
        for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
      };
      // handleUpgrade writes the 101 response synchronously, so the listener sees only this upgrade.
      this.wss.on('headers', onHeaders);
      try {
        this.wss.handleUpgrade(req, socket, head, (ws) => resolve(ws));
      } finally {
        this.wss.off('headers', onHeaders);
      }
    });
  }

  private async handleRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (!tokenMatches(req, this.options.token)) {
        throw new HttpError(401, 'unauthorized', 'Missing or invalid authentication');
      }
      const { pathname, query } = splitTarget(req.url);
      const { route, params } = this.router.findHttp(req.method ?? 'GET', pathname);
      await route.handle({ req, res, params, query });
    } catch (err) {
      sendError(res, toHttpError(err));
    }
  }

  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    try {
      if (!tokenMatches(req, this.options.token)) {
        throw new HttpError(401, 'unauthorized', 'Missing or invalid authentication');
      }
      const { pathname, query } = splitTarget(req.url);
      const { route, params } = this.router.findUpgrade(pathname);
      await route.handle({ req, socket, head, params, query });
    } catch (err) {
      rejectUpgrade(socket, toHttpError(err));
    }
  }
}

/**
 * An upgraded connection reading into slabs (protocol/read-slabs.ts): a WebSocket client's large
 * messages (exec stdin, proxy uploads) arrive whole in one read and go on as views, instead of
 * being joined from 64 KiB reads, each a fresh buffer. Done in the tick of the upgrade, before
 * any read; the connection stays as it is where Node's handle is not as expected.
 */
function readingIntoSlabs(socket: Socket): Socket {
  let adopted: Socket | undefined;
  adopted = rehome(socket, { readable: true, writable: true, onread: slabReads((chunk) => adopted!.push(chunk)) } as SocketConstructorOpts);
  return adopted ?? socket;
}

/**
 * The request target as sent. Not through `new URL`: it would resolve `%2E%2E` and `..` segments
 * before the router sees them, so a request could land on a route other than the one it named.
 */
export function splitTarget(target: string | undefined): { pathname: string; query: URLSearchParams } {
  const raw = target ?? '/';
  const q = raw.indexOf('?');
  const pathname = q === -1 ? raw : raw.slice(0, q);
  if (!pathname.startsWith('/')) throw new HttpError(400, 'invalid_path', 'the request target must be a path');
  return { pathname, query: new URLSearchParams(q === -1 ? '' : raw.slice(q + 1)) };
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof StoreError) return new HttpError(err.status, err.code, err.message);
  return new HttpError(500, 'internal_error', (err as Error)?.message ?? String(err));
}

/** Answer a refused upgrade with a plain HTTP response carrying the usual JSON error body. */
export function rejectUpgrade(socket: Duplex, err: HttpError): void {
  if (socket.destroyed || !socket.writable) return;
  const body = JSON.stringify(errorBody(err.status, err.code, err.message, err.extra));
  const reason = { 400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 409: 'Conflict' }[err.status] ?? 'Error';
  socket.end(
    `HTTP/1.1 ${err.status} ${reason}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      `Sprite-Version: ${SERVER_VERSION}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}
