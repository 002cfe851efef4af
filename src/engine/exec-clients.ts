// The two ways a client is attached to a session: a WebSocket (§2, §3) or a streamed HTTP
// response (§5). Each turns session events into the wire's framing and feeds stdin back.
import type { ServerResponse, IncomingMessage } from 'node:http';
import type { WebSocket, RawData } from 'ws';
import type { Session, SessionClient } from './sessions.js';
import type { OutputChunk } from './scrollback.js';
import type { PortMessage, SessionInfoMessage } from '../protocol/messages.js';
import { parseClientControl } from '../protocol/messages.js';
import { StreamId, decodeFrame, encodeFrame, frameInPlace } from '../protocol/frames.js';
import { YoungGcPacer } from '../protocol/young-gc.js';

/** The server pings; a client silent this long (no pong, no ping, no message) is dropped. */
const PING_INTERVAL_MS = 15_000;
const DEAD_AFTER_MS = 45_000;
/** Largest payload of one frame in an HTTP exec response. */
const HTTP_FRAME_PAYLOAD = 16 * 1024;

export function sessionInfo(session: Session, isOwner: boolean, replayFrom: number): SessionInfoMessage & { replay_from: number } {
  return {
    type: 'session_info',
    session_id: session.id,
    command: session.command,
    created: Math.floor(session.created.getTime() / 1000),
    cols: session.cols,
    rows: session.rows,
    is_owner: isOwner,
    tty: session.tty,
    // Engine extension: the output offset where the replay starts, so a reconnecting client can
    // skip what it already showed. Other servers do not send it; clients must not need it.
    replay_from: replayFrom,
  };
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Attach a WebSocket to a session: session_info, the replay, then live output both ways.
 * `replay` is false for the creator of a new exec (nothing to replay, the output is live).
 */
export function attachWebSocket(ws: WebSocket, session: Session, options: { replay: boolean }): void {
  let lastSeen = Date.now();
  let closed = false;
  const client: SessionClient = {
    output(chunk: OutputChunk) {
      if (closed) return;
      const kind = chunk.stream === 1 ? 'stdout' : 'stderr';
      const payload = session.tty ? chunk.data : chunk.withRoom ? frameInPlace(kind, chunk.withRoom) : encodeFrame({ kind, data: chunk.data });
      ws.send(payload, { binary: true }, () => session.outputDrained());
    },
    exit(code: number) {
      if (closed) return;
      if (session.tty) ws.send(JSON.stringify({ type: 'exit', exit_code: code }));
      else ws.send(encodeFrame({ kind: 'exit', code }), { binary: true });
      // The command is done; the client may close first, which is fine.
      ws.close(1000, 'exited');
    },
    port(event: PortMessage) {
      if (!closed) ws.send(JSON.stringify(event));
    },
    pending: () => ws.bufferedAmount,
  };

  // Stdin arrives in buffers ws and net allocate per message and per read: collect them often.
  const stdinPacer = new YoungGcPacer();
  const onStdin = (data: Uint8Array) => {
    stdinPacer.carried(data.byteLength);
    if (!session.write(data)) {
      ws.pause();
      session.onStdinDrain(() => ws.resume());
    }
  };

  ws.on('message', (data, isBinary) => {
    lastSeen = Date.now();
    try {
      onMessage(toBuffer(data), isBinary);
    } catch {
      // A client's message must never bring the engine down; the session goes on.
    }
  });
  const onMessage = (buf: Buffer, isBinary: boolean) => {
    if (!isBinary) {
      const msg = parseClientControl(buf.toString('utf8'));
      if (msg?.type === 'resize') session.resize(msg.cols, msg.rows);
      else if (msg?.type === 'signal') session.signal(`SIG${msg.signal}` as NodeJS.Signals);
      return;
    }
    if (session.tty) {
      onStdin(buf);
      return;
    }
    const frame = decodeFrame(buf);
    if (frame.kind === 'stdin') onStdin(frame.data);
    else if (frame.kind === 'stdinEof') session.endStdin();
  };
  ws.on('pong', () => (lastSeen = Date.now()));
  // A client whose local reader is slow stops reading (our pings and data wait in TCP) but keeps
  // pinging us: its pings prove it is alive.
  ws.on('ping', () => (lastSeen = Date.now()));
  const ping = setInterval(() => {
    if (Date.now() - lastSeen > DEAD_AFTER_MS) ws.terminate();
    else ws.ping();
  }, PING_INTERVAL_MS);
  ws.on('error', () => {});
  ws.once('close', () => {
    closed = true;
    clearInterval(ping);
    session.detach(client);
  });

  // session_info goes first, then (in the same tick) the replay and live output.
  ws.send(JSON.stringify(sessionInfo(session, session.clientCount === 0, options.replay ? session.scrollback.start : session.scrollback.endOffset)));
  session.attach(client, options);
}

/** Stream a session's frames as the body of a POST exec response (§5); the request body is stdin. */
export function attachHttp(req: IncomingMessage, res: ServerResponse, session: Session, forwardStdin: boolean, headers: Record<string, string>): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store', ...headers });
  res.flushHeaders();
  let done = false;
  const client: SessionClient = {
    output(chunk) {
      if (done) return;
      // Frames have no length: small ones, one per HTTP chunk, give a reader its best chance.
      for (let at = 0; at < chunk.data.byteLength; at += HTTP_FRAME_PAYLOAD) {
        const data = chunk.data.subarray(at, at + HTTP_FRAME_PAYLOAD);
        res.write(encodeFrame({ kind: chunk.stream === 1 ? 'stdout' : 'stderr', data }));
      }
    },
    exit(code) {
      if (done) return;
      done = true;
      res.end(Buffer.of(StreamId.exit, code));
      session.detach(client);
    },
    port() {},
    pending: () => res.writableLength,
  };
  res.on('drain', () => session.outputDrained());
  res.once('close', () => {
    done = true;
    session.detach(client);
  });
  session.attach(client, { replay: false });

  if (!forwardStdin) {
    session.endStdin();
    req.resume();
    return;
  }
  req.on('data', (chunk: Buffer) => {
    if (!session.write(chunk)) {
      req.pause();
      session.onStdinDrain(() => req.resume());
    }
  });
  req.once('end', () => session.endStdin());
  req.on('error', () => session.endStdin());
}
