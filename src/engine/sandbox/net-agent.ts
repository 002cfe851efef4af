// The net agent of a sandboxed sprite: a small node process inside the sprite's network namespace
// (and nothing else of it), so it still sees the engine's files. The engine asks it over a Node IPC
// channel to dial the sprite's localhost; it connects there and hands the connected TCP socket
// itself back over the channel (SCM_RIGHTS), so the engine relays to the target directly and the
// agent never carries a byte of a dialled connection. The other way, it carries connections to the
// sprite's 127.0.0.1:3128 to the engine's egress proxy. It exits when the engine goes away.
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket, SocketConstructorOpts } from 'node:net';
import type { Duplex } from 'node:stream';
import { rehome } from '../socket-handle.js';
import { slabReads } from '../../protocol/read-slabs.js';

/** Engine → agent. */
interface DialRequest {
  type: 'dial';
  id: number;
  host: string;
  port: number;
}

/** Agent → engine. `connected` comes with the socket as its handle. */
type AgentMessage = { type: 'ready' } | { type: 'connected'; id: number } | { type: 'failed'; id: number; error: string };

/**
 * The agent's program. It runs as `node -e`, so it is written against CommonJS `require` and
 * captures nothing from this module.
 */
function agentMain(require: NodeJS.Require): void {
  const net = require('node:net') as typeof import('node:net');
  const egressSocket = process.env.SPRITES_EGRESS_SOCKET!;
  const egressPort = Number(process.env.SPRITES_EGRESS_PORT);
  const send = process.send!.bind(process);
  // The engine gone (exit, crash, stop): nothing is left to serve.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (msg: DialRequest) => {
    if (msg?.type !== 'dial') return;
    // Paused before it connects, so not a byte is read here: whatever the target sends stays in the
    // kernel for the engine, which gets the socket itself.
    const upstream = new net.Socket({ allowHalfOpen: true });
    upstream.pause();
    upstream.once('error', (err: Error) => send({ type: 'failed', id: msg.id, error: err.message }, undefined, {}, () => {}));
    upstream.connect({ host: msg.host, port: msg.port }, () => {
      upstream.removeAllListeners('error');
      upstream.on('error', () => {});
      upstream.setNoDelay(true);
      // Sending the socket closes our copy of it once it has gone.
      send({ type: 'connected', id: msg.id }, upstream, {}, () => {});
    });
  });
  const egress = net.createServer((inside) => {
    const engine = net.connect(egressSocket);
    inside.on('error', () => engine.destroy());
    engine.on('error', () => inside.destroy());
    inside.on('close', () => engine.destroy());
    engine.on('close', () => inside.destroy());
    inside.pipe(engine);
    engine.pipe(inside);
  });
  egress.listen(egressPort, '127.0.0.1', () => send({ type: 'ready' }, undefined, {}, () => {}));
}

interface Pending {
  resolve(socket: Duplex): void;
  reject(err: Error): void;
}

export class NetAgent {
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private gone: string | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
  ) {
    child.on('message', (msg: AgentMessage, handle?: Socket) => this.onMessage(msg, handle));
    child.once('exit', () => this.lost('the sprite\'s net agent exited'));
  }

  /**
   * Start the agent in the network namespace of the holder `pid`: it dials for the engine over its
   * IPC channel, and listens inside on 127.0.0.1:`egressPort`, relayed to `egressSocket`.
   */
  static async start(holderPid: number, egressSocket: string, egressPort: number): Promise<NetAgent> {
    // nsenter execs node with the fds and environment it was given, so the IPC channel (its fd
    // and NODE_CHANNEL_FD) reaches the agent.
    const child = spawn('nsenter', ['-t', String(holderPid), '-n', '--', process.execPath, '-e', `(${agentMain.toString()})(require)`], {
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        SPRITES_EGRESS_SOCKET: egressSocket,
        SPRITES_EGRESS_PORT: String(egressPort),
      },
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const ready = await new Promise<boolean>((resolve) => {
      child.on('message', (msg: AgentMessage) => msg?.type === 'ready' && resolve(true));
      child.once('error', () => resolve(false));
      child.once('exit', () => resolve(false));
    });
    if (!ready) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`cannot start the sprite's net agent: ${stderr.trim().split('\n').pop() || 'it exited'}`);
    }
    child.removeAllListeners('message');
    return new NetAgent(child, exited);
  }

  /** A TCP connection to host:port made inside the sprite's network namespace. */
  dial(host: string, port: number): Promise<Duplex> {
    if (this.gone !== undefined) return Promise.reject(new Error(this.gone));
    return new Promise((resolve, reject) => {
      const id = ++this.nextId;
      this.pending.set(id, { resolve, reject });
      const request: DialRequest = { type: 'dial', id, host, port };
      this.child.send(request, (err) => {
        if (!err) return;
        this.pending.delete(id);
        reject(new Error(`the sprite's net agent is unreachable: ${err.message}`));
      });
    });
  }

  private onMessage(msg: AgentMessage, handle?: Socket): void {
    if (msg?.type !== 'connected' && msg?.type !== 'failed') return;
    const waiter = this.pending.get(msg.id);
    this.pending.delete(msg.id);
    if (msg.type === 'failed') return waiter?.reject(new Error(msg.error || 'connection refused'));
    if (!handle) return waiter?.reject(new Error('the sprite\'s net agent sent no connection'));
    if (!waiter) return void handle.destroy();
    // Each direction ends on its own (half-close), as with a connection dialled here; reads go
    // into slabs (large pieces, no buffer per read), which a socket received over IPC is made
    // without: its handle moves to a socket made with them, in this tick, before any read.
    let socket: Socket | undefined;
    socket = rehome(handle, { allowHalfOpen: true, readable: true, writable: true, onread: slabReads((chunk) => socket!.push(chunk)) } as SocketConstructorOpts);
    if (!socket) {
      handle.allowHalfOpen = true;
      socket = handle;
    }
    waiter.resolve(socket);
  }

  private lost(why: string): void {
    this.gone ??= why;
    for (const waiter of this.pending.values()) waiter.reject(new Error(why));
    this.pending.clear();
  }

  async stop(): Promise<void> {
    this.lost('the sprite\'s net agent was stopped');
    this.child.kill('SIGKILL');
    await this.exited;
  }
}
