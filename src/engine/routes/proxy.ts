// The TCP proxy WebSocket (SPRITES-API.md §6): one socket per TCP connection into a sprite.
// Handshake, then a raw relay with backpressure both ways. Only the sprite's own localhost can be
// dialled, so the engine is never an open relay.
import { isIPv4 } from 'node:net';
import type { Duplex } from 'node:stream';
import type { WebSocket, RawData } from 'ws';
import type { Engine } from '../server.js';
import type { UpgradeRoute } from '../router.js';
import {
  PROXY_CLOSE_BAD_INIT,
  PROXY_CLOSE_DIAL_FAILED,
  PROXY_CLOSE_GOING_AWAY,
  PROXY_CLOSE_NORMAL,
  PROXY_EOF_MESSAGE,
  PROXY_HALF_CLOSE_EOF,
  PROXY_HALF_CLOSE_HEADER,
  isProxyEof,
  joinHostPort,
  parseProxyInit,
  unbracketHost,
  type ProxyConnected,
} from '../../protocol/proxy.js';

/** Stop reading the target while this much is queued towards the client. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
const INIT_TIMEOUT_MS = 30_000;

/** Hosts that mean "this sprite" (for the host driver: this machine's loopback). */
export function isSpriteLocalhost(host: string): boolean {
  const bare = unbracketHost(host).toLowerCase();
  if (bare === '' || bare === 'localhost' || bare === '::1') return true;
  return isIPv4(bare) && bare.startsWith('127.');
}

/** Close reasons are limited to 123 bytes by the WebSocket protocol. */
function reason(text: string): string {
  const buf = Buffer.from(text);
  return buf.length <= 123 ? text : buf.subarray(0, 120).toString('utf8').replace(/\uFFFD*$/, '') + '...';
}

export function installProxy(engine: Engine): void {
  /** Live proxied connections per sprite: how to close each. */
  const live = new Map<string, Set<(why: string) => void>>();

  const track = (sprite: string, close: (why: string) => void): (() => void) => {
    let set = live.get(sprite);
    if (!set) live.set(sprite, (set = new Set()));
    set.add(close);
    return () => {
      set.delete(close);
      if (set.size === 0 && live.get(sprite) === set) live.delete(sprite);
    };
  };

  const closeAll = (sprite: string, why: string) => {
    for (const close of [...(live.get(sprite) ?? [])]) close(why);
  };

  engine.onStopSprite((sprite) => closeAll(sprite, 'sprite stopped'));
  engine.onClose(() => {
    for (const sprite of [...live.keys()]) closeAll(sprite, 'engine shutting down');
  });

  const route: UpgradeRoute = {
    path: '/v1/sprites/:name/proxy',
    async handle({ req, socket, head, params }) {
      const sprite = params.name!;
      engine.store.require(sprite);
      const halfClose = req.headers[PROXY_HALF_CLOSE_HEADER] === PROXY_HALF_CLOSE_EOF;
      const ws = await engine.accept(req, socket, head);
      serveProxy(engine, sprite, ws, halfClose, track);
    },
  };
  engine.router.addUpgrade(route);
}

function serveProxy(engine: Engine, sprite: string, ws: WebSocket, halfClose: boolean, track: (sprite: string, close: (why: string) => void) => () => void): void {
  let target: Duplex | undefined;
  let finished = false;
  const untrack = track(sprite, (why) => finish(PROXY_CLOSE_GOING_AWAY, why));

  /** Tear down both sides once: a normal close flushes, anything else resets the target. */
  function finish(code: number, why: string): void {
    if (finished) return;
    finished = true;
    clearTimeout(initTimer);
    untrack();
    if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) {
      // A paused socket would never read the peer's close frame.
      ws.resume();
      ws.close(code, reason(why));
    }
    if (target && !target.destroyed) {
      if (code === PROXY_CLOSE_NORMAL) target.end(() => target!.destroy());
      else reset(target);
    }
  }

  const initTimer = setTimeout(() => finish(PROXY_CLOSE_BAD_INIT, 'no init message within 30 s'), INIT_TIMEOUT_MS);
  ws.on('error', () => finish(1011, 'websocket error'));
  ws.on('close', (code) => {
    if (finished) return;
    finished = true;
    clearTimeout(initTimer);
    untrack();
    if (!target || target.destroyed) return;
    // The client closing normally is EOF: flush what it sent, then let go of the target.
    if (code === PROXY_CLOSE_NORMAL || code === PROXY_CLOSE_GOING_AWAY) target.end(() => target!.destroy());
    else reset(target);
  });

  /** Messages that arrive while the target is being dialled, replayed into the relay. */
  let early: Array<[RawData, boolean]> | undefined;
  let onRelayMessage: ((data: RawData, isBinary: boolean) => void) | undefined;

  ws.on('message', (data: RawData, isBinary: boolean) => {
    // After a close has begun, late messages have nowhere to go.
    if (finished) return;
    if (onRelayMessage) return onRelayMessage(data, isBinary);
    if (early) {
      early.push([data, isBinary]);
      return;
    }
    clearTimeout(initTimer);
    if (isBinary) return finish(PROXY_CLOSE_BAD_INIT, 'the first message must be the text init message {"host","port"}');
    const init = parseProxyInit(data.toString());
    if ('problem' in init) return finish(PROXY_CLOSE_BAD_INIT, init.problem);
    const host = init.host === '' ? 'localhost' : init.host;
    const where = joinHostPort(host, init.port);
    if (!isSpriteLocalhost(host)) {
      return finish(PROXY_CLOSE_DIAL_FAILED, `refusing ${where}: only the sprite's own localhost can be reached`);
    }
    early = [];
    ws.pause();
    engine.driver.dial(sprite, unbracketHost(host), init.port).then(
      (conn) => {
        // The client left while the target was being dialled: nothing will flow, so abort it.
        if (finished) return reset(conn);
        target = conn;
        // The target finishing its side must not end ours: the client may still be sending.
        // (Documented as settable before 'end'; the host driver dials with the default false.)
        conn.allowHalfOpen = true;
        const connected: ProxyConnected = { status: 'connected', target: where };
        ws.send(JSON.stringify(connected));
        onRelayMessage = relay(ws, conn, halfClose, finish);
        for (const [d, b] of early!) onRelayMessage(d, b);
        early = undefined;
        if (conn.writableNeedDrain) conn.once('drain', () => ws.resume());
        else ws.resume();
      },
      (err: Error) => finish(PROXY_CLOSE_DIAL_FAILED, `cannot reach ${where}: ${err.message}`),
    );
  });
}

/** Abort a TCP connection with a reset, so the peer sees the failure rather than a clean EOF. */
function reset(conn: Duplex): void {
  const socket = conn as Duplex & { resetAndDestroy?: () => void };
  try {
    // Only TCP handles can be reset (a driver may hand back a unix socket): else a plain destroy.
    if (typeof socket.resetAndDestroy === 'function') return void socket.resetAndDestroy();
  } catch {
    // ERR_INVALID_HANDLE_TYPE: not TCP.
  }
  socket.destroy();
}

/** Wire the target to the socket; returns the handler for the client's messages. */
function relay(ws: WebSocket, conn: Duplex, halfClose: boolean, finish: (code: number, why: string) => void): (data: RawData, isBinary: boolean) => void {
  let clientEof = false;
  let targetEof = false;
  let paused = false;

  const afterSend = () => {
    if (paused && ws.bufferedAmount <= LOW_WATER) {
      paused = false;
      conn.resume();
    }
  };

  conn.on('data', (chunk: Buffer) => {
    ws.send(chunk, { binary: true }, afterSend);
    if (!paused && ws.bufferedAmount > HIGH_WATER) {
      paused = true;
      conn.pause();
    }
  });
  conn.on('end', () => {
    targetEof = true;
    // Without the half-close extension a close is the only EOF §6 has (after the data queued before it).
    if (clientEof || !halfClose) finish(PROXY_CLOSE_NORMAL, '');
    else ws.send(PROXY_EOF_MESSAGE);
  });
  conn.on('error', () => {});
  conn.on('close', () => {
    // Closed without a clean end in both directions: a reset or an error.
    if (!(targetEof && clientEof)) finish(targetEof ? PROXY_CLOSE_NORMAL : PROXY_CLOSE_DIAL_FAILED, targetEof ? '' : 'target connection reset');
  });

  return (data: RawData, isBinary: boolean) => {
    if (!isBinary) {
      if (!clientEof && isProxyEof(data.toString())) {
        clientEof = true;
        if (targetEof) finish(PROXY_CLOSE_NORMAL, '');
        else conn.end();
      }
      return;
    }
    if (clientEof) return;
    // binaryType is the default nodebuffer.
    if (!conn.write(data as Buffer) && !ws.isPaused) {
      ws.pause();
      conn.once('drain', () => ws.resume());
    }
  };
}
