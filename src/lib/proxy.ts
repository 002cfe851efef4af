// TCP tunnels into a sprite (SPRITES-API.md §6): one WebSocket per local connection, opened when
// the connection is accepted. Local bytes are not read until the handshake answers, so nothing
// sent early is lost; after it, a raw relay with backpressure both ways.
import { createServer, type Server, type Socket } from 'node:net';
import type { Readable, Writable } from 'node:stream';
import WebSocket, { type RawData } from 'ws';
import { ApiClient, apiPath, ConnectionError } from './api.js';
import { OperationError } from './errors.js';
import { findPortHolder } from './port-holder.js';
import { openWebSocket, refusalError } from './ws.js';
import { acceptReadingIntoSlabs } from './socket-reads.js';
import type { PortMapping } from './port-mapping.js';
import {
  PROXY_CLOSE_GOING_AWAY,
  PROXY_CLOSE_NORMAL,
  PROXY_EOF_MESSAGE,
  PROXY_HALF_CLOSE_EOF,
  PROXY_HALF_CLOSE_HEADER,
  isProxyEof,
  joinHostPort,
  parseProxyConnected,
  type ProxyInit,
} from '../protocol/proxy.js';

/** Stop reading the local side while this much is queued towards the sprite. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const HANDSHAKE_TIMEOUT_MS = 30_000;
/** How long a shutdown waits for tunnels to close cleanly before cutting them. */
const SHUTDOWN_GRACE_MS = 2_000;

export interface ProxyTarget {
  /** Empty: the sprite's localhost. */
  host: string;
  port: number;
}

/** The local end of a tunnel: a TCP connection, or the CLI's stdin/stdout. */
export interface LocalEnd {
  input: Readable;
  output: Writable;
  /** The sprite side finished sending. */
  endOutput(): void;
  /** The tunnel failed after it was open: make the local side see a failure, not a clean EOF. */
  abort(): void;
}

export interface TunnelResult {
  /** Whether the handshake succeeded. */
  connected: boolean;
  bytesSent: number;
  bytesReceived: number;
  /** Why the tunnel failed (handshake refused, reset, transport lost); absent on a clean close. */
  error?: Error;
}

/** The proxy refused or dropped the tunnel (a close code other than normal). */
export class ProxyClosedError extends OperationError {
  constructor(
    message: string,
    readonly closeCode: number,
  ) {
    super(message);
    this.name = 'ProxyClosedError';
  }
}

/** A local port that something else already listens on: exit 1, naming the holder where found. */
export class PortInUseError extends OperationError {
  constructor(
    message: string,
    readonly address: string,
    readonly port: number,
  ) {
    super(message);
    this.name = 'PortInUseError';
  }
}

function describeClose(code: number, reason: string, target: string): string {
  if (reason) return `${target}: ${reason} (close ${code})`;
  if (code === 1006) return `${target}: the connection to the proxy was lost`;
  return `${target}: the proxy closed the tunnel (close ${code})`;
}


/** One TCP connection through one WebSocket. */
export class Tunnel {
  readonly done: Promise<TunnelResult>;
  private readonly ws: WebSocket;
  private state: 'handshake' | 'open' | 'closed' = 'handshake';
  private localEof = false;
  private remoteEof = false;
  private inputPaused = false;
  private bytesSent = 0;
  private bytesReceived = 0;
  private failure: Error | undefined;
  private resolveDone!: (r: TunnelResult) => void;
  private readonly timer: NodeJS.Timeout;

  constructor(
    api: ApiClient,
    sprite: string,
    target: ProxyTarget,
    private readonly local: LocalEnd,
    private readonly label = `${sprite}:${target.host ? joinHostPort(target.host, target.port) : target.port}`,
  ) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
    const url = api.wsUrl(apiPath('sprites', sprite, 'proxy'));
    api.trace(`--> WS ${url} (${this.label})`);
    this.ws = openWebSocket(api, url, { handshakeTimeout: HANDSHAKE_TIMEOUT_MS, headers: { [PROXY_HALF_CLOSE_HEADER]: PROXY_HALF_CLOSE_EOF } });
    this.timer = setTimeout(() => this.fail(new ProxyClosedError(`${this.label}: no answer from the proxy within ${HANDSHAKE_TIMEOUT_MS / 1000} s`, 0)), HANDSHAKE_TIMEOUT_MS);

    this.ws.on('unexpected-response', (_req, res) => {
      void refusalError(res, url).then((err) => this.fail(err));
    });
    this.ws.on('open', () => {
      const init: ProxyInit = { host: target.host || 'localhost', port: target.port };
      this.ws.send(JSON.stringify(init));
    });
    this.ws.on('message', (data, isBinary) => this.onMessage(data, isBinary));
    this.ws.on('error', (err) => {
      if (this.state === 'handshake' && !this.failure) {
        this.failure = new ConnectionError(`${this.label}: cannot open the tunnel: ${err.message}`, url);
      }
    });
    this.ws.on('close', (code, reasonBuf) => this.onClose(code, reasonBuf.toString('utf8')));
  }

  /** Close cleanly when open (a shutdown, or -W after the sprite side's EOF), else give up on the handshake. */
  close(code = PROXY_CLOSE_GOING_AWAY, reason = 'proxy shutting down'): void {
    if (this.state === 'open' && this.ws.readyState === WebSocket.OPEN) {
      // A paused socket would never read the server's close frame.
      this.ws.resume();
      this.ws.close(code, reason);
    } else {
      this.ws.terminate();
    }
  }

  /** The local side failed (reset, error): drop the tunnel so the sprite side is reset too. */
  abort(): void {
    if (this.localEof && this.remoteEof) return;
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.failure ??= new ProxyClosedError(
      this.state === 'handshake' ? `${this.label}: the local connection closed before the tunnel was ready` : `${this.label}: the local connection was reset`,
      0,
    );
    this.ws.terminate();
  }

  private fail(err: Error): void {
    if (this.state !== 'handshake') return;
    this.failure ??= err;
    this.ws.terminate();
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const buf = data as Buffer;
    if (this.state === 'handshake') {
      const connected = isBinary ? null : parseProxyConnected(buf.toString('utf8'));
      if (!connected) return this.fail(new ProxyClosedError(`${this.label}: the proxy answered the handshake with something other than {"status":"connected"}`, 0));
      clearTimeout(this.timer);
      this.state = 'open';
      this.startReadingLocal();
      return;
    }
    if (this.state !== 'open') return;
    if (!isBinary) {
      if (!this.remoteEof && isProxyEof(buf.toString('utf8'))) {
        this.remoteEof = true;
        this.local.endOutput();
        if (this.localEof) this.ws.close(PROXY_CLOSE_NORMAL);
      }
      return;
    }
    if (this.remoteEof) return;
    this.bytesReceived += buf.length;
    if (!this.local.output.write(buf) && !this.ws.isPaused) {
      this.ws.pause();
      this.local.output.once('drain', () => this.ws.resume());
    }
  }

  private startReadingLocal(): void {
    const { input } = this.local;
    const afterSend = () => {
      if (this.inputPaused && this.ws.bufferedAmount <= LOW_WATER) {
        this.inputPaused = false;
        input.resume();
      }
    };
    input.on('data', (chunk: Buffer) => {
      if (this.ws.readyState !== WebSocket.OPEN) return;
      this.bytesSent += chunk.length;
      this.ws.send(chunk, { binary: true }, afterSend);
      if (!this.inputPaused && this.ws.bufferedAmount > HIGH_WATER) {
        this.inputPaused = true;
        input.pause();
      }
    });
    input.on('end', () => {
      this.localEof = true;
      if (this.ws.readyState !== WebSocket.OPEN) return;
      if (this.remoteEof) this.ws.close(PROXY_CLOSE_NORMAL);
      else this.ws.send(PROXY_EOF_MESSAGE);
    });
    input.resume();
  }

  private onClose(code: number, reason: string): void {
    clearTimeout(this.timer);
    const wasOpen = this.state === 'open';
    this.state = 'closed';
    if (!wasOpen) {
      this.failure ??= new ProxyClosedError(describeClose(code, reason, this.label), code);
    } else if (code === PROXY_CLOSE_NORMAL || code === PROXY_CLOSE_GOING_AWAY || code === 1005) {
      if (!this.remoteEof) {
        this.remoteEof = true;
        this.local.endOutput();
      }
    } else {
      this.failure ??= new ProxyClosedError(describeClose(code, reason, this.label), code);
      this.local.abort();
    }
    this.resolveDone({ connected: wasOpen, bytesSent: this.bytesSent, bytesReceived: this.bytesReceived, error: this.failure });
  }
}

export interface ForwardListener {
  mapping: PortMapping;
  /** The first bound address and the real port (after 0 was resolved). */
  address: string;
  port: number;
  /** Every host:port bound for this mapping. */
  addresses: string[];
  /** What the mapping reaches, as NAME:PORT or NAME:HOST:PORT. */
  target: string;
}

export type ProxyEvent =
  | { type: 'connection_opened'; id: number; local: string; peer: string; target: string }
  | { type: 'connection_closed'; id: number; local: string; target: string; bytes_sent: number; bytes_received: number; error?: string };

export interface ForwardOptions {
  api: ApiClient;
  sprite: string;
  /** Empty: the sprite's localhost. */
  remoteHost: string;
  mappings: PortMapping[];
  /** One address to bind; default 127.0.0.1 plus ::1 where the machine has it. */
  bind?: string;
  onEvent?(event: ProxyEvent): void;
  /** A connection whose tunnel could not be opened, or a secondary address that could not be bound. */
  onNotice?(message: string): void;
}

const DEFAULT_ADDRESSES = ['127.0.0.1', '::1'];
/** Errors that mean "this machine has no such address family / address": skip a default address. */
const ABSENT_ADDRESS = new Set(['EADDRNOTAVAIL', 'EAFNOSUPPORT', 'EINVAL']);

/** Local listeners for `sprites proxy`, each accepted connection tunnelled into the sprite. */
export class ProxyListeners {
  readonly listeners: ForwardListener[] = [];
  private readonly servers: Server[] = [];
  private readonly open = new Set<Tunnel>();
  /** Every accepted socket until it closes (a tunnel can end before its socket does). */
  private readonly sockets = new Set<Socket>();
  private nextId = 0;
  private closing = false;

  constructor(private readonly options: ForwardOptions) {}

  /** Bind every mapping; on any failure nothing stays bound. */
  async start(): Promise<ForwardListener[]> {
    try {
      for (const mapping of this.options.mappings) this.listeners.push(await this.bindMapping(mapping));
    } catch (err) {
      await this.close();
      throw err;
    }
    return this.listeners;
  }

  /** Stop listening, close every tunnel (cleanly, then by force after a grace period). */
  async close(): Promise<void> {
    this.closing = true;
    const serversClosed = Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    const tunnels = [...this.open];
    for (const t of tunnels) t.close();
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(tunnels.map((t) => t.done)),
      new Promise<void>((resolve) => (grace = setTimeout(resolve, SHUTDOWN_GRACE_MS))),
    ]);
    clearTimeout(grace);
    for (const t of this.open) t.abort();
    for (const socket of this.sockets) socket.destroy();
    await serversClosed;
  }

  private async bindMapping(mapping: PortMapping): Promise<ForwardListener> {
    const { sprite, remoteHost } = this.options;
    const target = remoteHost ? `${sprite}:${joinHostPort(remoteHost, mapping.remote)}` : `${sprite}:${mapping.remote}`;
    const [first, ...rest] = this.options.bind ? [this.options.bind] : DEFAULT_ADDRESSES;
    const server = await this.listen(first!, mapping.local, mapping, target);
    const port = (server.address() as { port: number }).port;
    const addresses = [joinHostPort(first!, port)];
    for (const address of rest) {
      try {
        await this.listen(address, port, mapping, target);
        addresses.push(joinHostPort(address, port));
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code ?? '';
        if (err instanceof PortInUseError) this.options.onNotice?.(`Note: ${joinHostPort(address, port)} is in use by something else; only ${addresses[0]} is forwarded`);
        else if (!ABSENT_ADDRESS.has(code)) this.options.onNotice?.(`Note: cannot also listen on ${joinHostPort(address, port)}: ${(err as Error).message}`);
      }
    }
    return { mapping, address: first!, port, addresses, target };
  }

  private listen(address: string, port: number, mapping: PortMapping, target: string): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = createServer(TUNNEL_SERVER_OPTIONS);
      server.once('error', (err: NodeJS.ErrnoException) => {
        void listenError(err, address, port, mapping.remote).then(reject, reject);
      });
      server.listen({ host: address, port, ipv6Only: address === '::1' }, () => {
        server.removeAllListeners('error');
        server.on('error', (err) => this.options.onNotice?.(`Listener ${joinHostPort(address, port)} failed: ${err.message}`));
        this.servers.push(server);
        const local = joinHostPort(address, (server.address() as { port: number }).port);
        server.on('connection', (socket) => this.accept(socket, mapping, local, target));
        resolve(server);
      });
    });
  }

  private accept(accepted: Socket, mapping: PortMapping, local: string, target: string): void {
    if (this.closing) return void accepted.destroy();
    const socket = acceptReadingIntoSlabs(accepted);
    const id = ++this.nextId;
    const peer = joinHostPort(socket.remoteAddress ?? 'unknown', socket.remotePort ?? 0);
    this.options.onEvent?.({ type: 'connection_opened', id, local, peer, target });
    const tunnel = tunnelSocket(this.options.api, this.options.sprite, { host: this.options.remoteHost, port: mapping.remote }, socket, target);
    this.open.add(tunnel);
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    void tunnel.done.then((result) => {
      this.open.delete(tunnel);
      if (!result.connected) {
        if (!this.closing) this.options.onNotice?.(`Connection ${id} (${peer}) closed: ${result.error?.message ?? 'the tunnel could not be opened'}`);
      }
      this.options.onEvent?.({
        type: 'connection_closed',
        id,
        local,
        target,
        bytes_sent: result.bytesSent,
        bytes_received: result.bytesReceived,
        ...(result.error ? { error: result.error.message } : {}),
      });
    });
  }
}

/**
 * Tunnel one accepted TCP connection (from a server made with allowHalfOpen and pauseOnConnect)
 * into the sprite. The socket is destroyed when the tunnel cannot be opened, reset when it fails.
 */
export function tunnelSocket(api: ApiClient, sprite: string, target: ProxyTarget, socket: Socket, label?: string): Tunnel {
  socket.setNoDelay(true);
  socket.on('error', () => {});
  const tunnel = new Tunnel(api, sprite, target, {
    input: socket,
    output: socket,
    endOutput: () => socket.end(),
    abort: () => {
      if (socket.destroyed) return;
      try {
        socket.resetAndDestroy();
      } catch {
        socket.destroy();
      }
    },
  }, label);
  socket.on('close', () => tunnel.abort());
  void tunnel.done.then((result) => {
    if (!result.connected) socket.destroy();
  });
  return tunnel;
}

/** Options for a server whose connections go through tunnelSocket. */
export const TUNNEL_SERVER_OPTIONS = {
  // A client that shuts down its sending side still gets the answer.
  allowHalfOpen: true,
  // Nothing is read until the tunnel is ready, so early bytes wait in the socket.
  pauseOnConnect: true,
} as const;

async function listenError(err: NodeJS.ErrnoException, address: string, port: number, remote: number): Promise<Error> {
  const where = joinHostPort(address, port);
  switch (err.code) {
    case 'EADDRINUSE': {
      const holder = await findPortHolder(port).catch(() => null);
      const by = holder ? ` by ${holder.command || 'a process'} (pid ${holder.pid})` : '';
      return new PortInUseError(
        `local port ${port} is already in use${by} (${where}); stop it, or map another local port, e.g. ${port === 65535 ? 0 : port + 1}:${remote} or 0:${remote}`,
        address,
        port,
      );
    }
    case 'EACCES':
      return new OperationError(`not allowed to listen on ${where} (ports below 1024 need privileges); map a higher local port, e.g. 0:${remote}`);
    default:
      if (ABSENT_ADDRESS.has(err.code ?? '')) {
        return Object.assign(new OperationError(`cannot listen on ${where}: ${address} is not an address of this machine`), { code: err.code });
      }
      return Object.assign(new OperationError(`cannot listen on ${where}: ${err.message}`), { code: err.code });
  }
}

/** Bridge the CLI's own stdin/stdout to one port in the sprite (`-W`, for ssh ProxyCommand). */
export function tunnelStdio(api: ApiClient, sprite: string, target: ProxyTarget, input: Readable, output: Writable): Tunnel {
  const tunnel: Tunnel = new Tunnel(api, sprite, target, {
    input,
    output,
    // The sprite side finished: stdout cannot be half-closed, so the bridge (and the CLI) ends,
    // once what was written to stdout is flushed.
    endOutput: () => output.write('', () => tunnel.close(PROXY_CLOSE_NORMAL, '')),
    abort: () => {},
  });
  return tunnel;
}
