// The net agent of a sandboxed sprite: a small node process inside the sprite's network namespace
// (and nothing else of it), so it still sees the engine's files. The engine reaches the sprite's
// localhost through it: one unix-socket connection per dial, a header line naming the target, then
// raw bytes both ways. The other way, it carries connections to the sprite's 127.0.0.1:3128 to the
// engine's egress proxy. It exits when the engine closes its stdin.
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createInterface } from 'node:readline';
import { rm } from 'node:fs/promises';

/**
 * The agent's program. It runs as `node -e`, so it is written against CommonJS `require` and
 * captures nothing from this module.
 */
function agentMain(require: NodeJS.Require): void {
  const net = require('node:net') as typeof import('node:net');
  const dialSocket = process.env.SPRITES_DIAL_SOCKET!;
  const egressSocket = process.env.SPRITES_EGRESS_SOCKET!;
  const egressPort = Number(process.env.SPRITES_EGRESS_PORT);
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('error', () => process.exit(0));
  process.stdin.resume();
  // allowHalfOpen on both legs: each direction's end travels through its pipe on its own, so a
  // client that finishes sending still gets the answer, and nothing buffered is cut off.
  const server = net.createServer({ pauseOnConnect: false, allowHalfOpen: true }, (client) => {
    client.on('error', () => client.destroy());
    let head = Buffer.alloc(0);
    const onHeader = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(10);
      if (nl < 0) {
        if (head.length > 1024) client.destroy();
        return;
      }
      client.off('data', onHeader);
      client.pause();
      const rest = head.subarray(nl + 1);
      let target: { host: string; port: number };
      try {
        target = JSON.parse(head.subarray(0, nl).toString('utf8')) as { host: string; port: number };
      } catch {
        client.end('error bad header\n');
        return;
      }
      const upstream = net.connect({ host: target.host, port: target.port, allowHalfOpen: true });
      upstream.setNoDelay(true);
      upstream.once('error', (err: Error) => {
        if (!client.destroyed) client.end(`error ${err.message}\n`);
      });
      upstream.once('connect', () => {
        upstream.removeAllListeners('error');
        upstream.on('error', () => client.destroy());
        // Errors abort both legs; clean closes are carried by the pipes (destroying on 'close'
        // would drop what is still buffered towards the other side).
        client.on('error', () => upstream.destroy());
        client.write('ok\n');
        if (rest.length) upstream.write(rest);
        client.pipe(upstream);
        upstream.pipe(client);
        client.resume();
      });
    };
    client.on('data', onHeader);
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
  let listening = 0;
  const ready = () => {
    if (++listening === 2) process.stdout.write('ready\n');
  };
  server.listen(dialSocket, ready);
  egress.listen(egressPort, '127.0.0.1', ready);
}

export class NetAgent {
  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    private readonly dialSocket: string,
  ) {}

  /**
   * Start the agent in the network namespace of the holder `pid`: it listens on `dialSocket` for
   * the engine, and inside on 127.0.0.1:`egressPort`, relayed to `egressSocket`.
   */
  static async start(holderPid: number, dialSocket: string, egressSocket: string, egressPort: number): Promise<NetAgent> {
    await rm(dialSocket, { force: true });
    const child = spawn('nsenter', ['-t', String(holderPid), '-n', '--', process.execPath, '-e', `(${agentMain.toString()})(require)`], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        SPRITES_DIAL_SOCKET: dialSocket,
        SPRITES_EGRESS_SOCKET: egressSocket,
        SPRITES_EGRESS_PORT: String(egressPort),
      },
    });
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
    let stderr = '';
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin!.on('error', () => {});
    const ready = await new Promise<boolean>((resolve) => {
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(line === 'ready'));
      child.once('error', () => resolve(false));
      child.once('exit', () => resolve(false));
    });
    if (!ready) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`cannot start the sprite's net agent: ${stderr.trim().split('\n').pop() || 'it exited'}`);
    }
    return new NetAgent(child, exited, dialSocket);
  }

  /** A TCP connection to host:port made inside the sprite's network namespace. */
  dial(host: string, port: number): Promise<Duplex> {
    return new Promise((resolve, reject) => {
      const socket: Socket = connect(this.dialSocket);
      let head = Buffer.alloc(0);
      const fail = (err: Error) => {
        socket.destroy();
        reject(err);
      };
      socket.once('error', fail);
      socket.once('connect', () => socket.write(JSON.stringify({ host, port }) + '\n'));
      // Paused mode for the header, so the caller gets a stream it can read any way it likes.
      const onReadable = () => {
        let chunk: Buffer | null;
        while ((chunk = socket.read() as Buffer | null) !== null) {
          head = Buffer.concat([head, chunk]);
          const nl = head.indexOf(10);
          if (nl < 0) continue;
          socket.off('readable', onReadable);
          socket.off('error', fail);
          const line = head.subarray(0, nl).toString('utf8');
          if (line !== 'ok') {
            fail(new Error(line.replace(/^error /, '') || 'connection refused'));
            return;
          }
          const rest = head.subarray(nl + 1);
          if (rest.length) socket.unshift(rest);
          resolve(socket);
          return;
        }
      };
      socket.on('readable', onReadable);
      socket.once('close', () => reject(new Error('the sprite closed the connection')));
    });
  }

  async stop(): Promise<void> {
    this.child.stdin?.end();
    this.child.kill('SIGKILL');
    await this.exited;
    await rm(this.dialSocket, { force: true });
  }
}
