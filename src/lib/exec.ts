// An exec session over WebSocket (SPRITES-API.md §2, §3): opens or attaches, frames stdin,
// writes stdout/stderr with backpressure, and ends on the exit frame. A socket that closes
// without an exit frame is a TransportError, never a success.
import WebSocket from 'ws';
import type { Readable, Writable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { ApiClient, ConnectionError, apiPath } from './api.js';
import { UsageError } from './errors.js';
import { decodeFrame, encodeFrame } from '../protocol/frames.js';
import { openWebSocket, refusalError } from './ws.js';
import { YoungGcPacer } from '../protocol/young-gc.js';
import { parseServerControl, type PortMessage, type SessionInfoMessage, type SignalName } from '../protocol/messages.js';

/** Keepalive (§2): ping this often; a peer silent for three intervals (45 s) is dead. */
export const PING_INTERVAL_MS = 15_000;
const DEAD_AFTER_INTERVALS = 3;
/** Largest WebSocket message accepted (output frames are a few KiB; control messages less). */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;
/** A refused upgrade's body is only shown, so only its start is read. */
/** Stdin queued on the socket above which we stop reading stdin, and below which we read again. */
const STDIN_HIGH_WATER = 1024 * 1024;
const STDIN_LOW_WATER = 256 * 1024;
/** After our close frame, how long to wait for the server's before dropping the connection. */
const CLOSE_WAIT_MS = 250;

/** The connection failed outside the remote command: exec exits 255. */
export class TransportError extends Error {
  readonly exitCode = 255;
  constructor(message: string) {
    super(message);
    this.name = 'TransportError';
  }
}

export interface ExecRequest {
  /** argv of a new command; absent when attaching. */
  argv?: string[];
  /** Attach to this session instead of starting a command. */
  attachId?: string;
  /** Sent as repeated env=K=V; it replaces the remote environment, so include a base. */
  env?: Record<string, string>;
  dir?: string;
  tty: boolean;
  cols?: number;
  rows?: number;
  /** Whether stdin will be forwarded (stdin=true); otherwise EOF is sent at once. */
  stdin: boolean;
  maxRunAfterDisconnect?: string;
  /** Attach through the older `exec?id=` form. */
  legacyAttach?: boolean;
}

export interface ExecIO {
  /** Forwarded to the remote command when given (raw bytes; for a TTY, keystrokes). */
  stdin?: Readable;
  stdout: Writable;
  /** Remote stderr; for a TTY the terminal merges it into stdout. */
  stderr: Writable;
}

export interface ExecHandlers {
  onSessionInfo?(info: SessionInfoMessage & { replay_from?: number }): void;
  onPort?(event: PortMessage): void;
  /**
   * Output bytes before they are written (the byte offset counts stdout and stderr in order);
   * return the part to write. Used by attach to drop what a reconnect replays twice.
   */
  filterOutput?(stream: 1 | 2, data: Buffer): Buffer;
}

/**
 * The keepalive interval: 15 s, or SPRITES_KEEPALIVE_MS (a testing knob, so tests can see a
 * silent peer declared dead without waiting 45 s). The deadline is always three intervals.
 */
export function keepaliveIntervalMs(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SPRITES_KEEPALIVE_MS;
  if (raw === undefined || raw === '') return PING_INTERVAL_MS;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms <= 0) throw new UsageError(`SPRITES_KEEPALIVE_MS=${JSON.stringify(raw)}: expected a whole number of milliseconds greater than 0`);
  return ms;
}

export interface ExecResult {
  exitCode: number;
  sessionId: string | undefined;
}

export function execQuery(req: ExecRequest): Record<string, string | string[] | undefined> {
  if (req.attachId !== undefined) {
    return {
      id: req.legacyAttach ? req.attachId : undefined,
      cols: req.cols !== undefined ? String(req.cols) : undefined,
      rows: req.rows !== undefined ? String(req.rows) : undefined,
    };
  }
  const argv = req.argv ?? [];
  return {
    cmd: argv,
    path: argv[0],
    env: req.env ? Object.entries(req.env).map(([k, v]) => `${k}=${v}`) : undefined,
    dir: req.dir,
    tty: req.tty ? 'true' : undefined,
    cols: req.tty && req.cols !== undefined ? String(req.cols) : undefined,
    rows: req.tty && req.rows !== undefined ? String(req.rows) : undefined,
    stdin: req.stdin || req.tty ? 'true' : 'false',
    max_run_after_disconnect: req.maxRunAfterDisconnect,
  };
}

export class ExecSession {
  sessionId: string | undefined;
  capabilities: string[] = [];
  /** Whether session_info said this is a TTY session (attach learns it from there). */
  tty: boolean;
  private ws: WebSocket | undefined;
  private exitCode: number | undefined;
  private lastSeen = Date.now();
  private outputPaused = false;
  private keepalive: NodeJS.Timeout | undefined;
  private settle!: { resolve(r: ExecResult): void; reject(e: Error): void };
  private finished = false;
  /** Attach: binary frames that came before session_info said which framing they use. */
  private early: Buffer[] | undefined;
  private readonly pendingSignals: SignalName[] = [];
  private readonly pingMs: number;
  /** Why the socket failed after it opened (an oversized or malformed message), for the message. */
  private socketError: string | undefined;
  /** Resolves with the remote exit code; rejects with TransportError (or ApiError before the upgrade). */
  readonly done: Promise<ExecResult>;

  constructor(
    private readonly api: ApiClient,
    readonly sprite: string,
    private readonly req: ExecRequest,
    private readonly io: ExecIO,
    private readonly handlers: ExecHandlers = {},
  ) {
    this.tty = req.tty;
    this.pingMs = keepaliveIntervalMs();
    if (req.attachId !== undefined) this.early = [];
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    // The caller awaits `done` after `open`; a rejection before that must not be unhandled.
    this.done.catch(() => {});
  }

  url(): string {
    const path = this.req.attachId !== undefined && !this.req.legacyAttach ? apiPath('sprites', this.sprite, 'exec', this.req.attachId) : apiPath('sprites', this.sprite, 'exec');
    return this.api.wsUrl(path, execQuery(this.req));
  }

  /** Open the socket; rejects with ApiError (refused upgrade) or ConnectionError (unreachable). */
  open(): Promise<void> {
    const url = this.url();
    const budgetMs = this.api.timeoutMs();
    this.api.trace(`--> WS ${url}`);
    return new Promise((resolve, reject) => {
      const ws = openWebSocket(this.api, url, { maxPayload: MAX_MESSAGE_BYTES });
      this.ws = ws;
      let opened = false;
      let settled = false;
      const refuse = (err: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(handshakeTimer);
        ws.terminate();
        reject(err);
      };
      // Covers connect, the upgrade answer and a refusal's body: a peer that accepts the TCP
      // connection and never answers must not hold the command.
      const handshakeTimer = setTimeout(
        () => refuse(new ConnectionError(`WS ${redactUrl(url)}: no answer to the WebSocket upgrade within ${budgetMs / 1000}s`, this.api.target.baseUrl, false, true)),
        budgetMs,
      );
      ws.once('upgrade', (res: IncomingMessage) => {
        const caps = res.headers['x-sprite-capabilities'];
        this.capabilities = (Array.isArray(caps) ? caps.join(',') : (caps ?? '')).split(',').map((c) => c.trim()).filter(Boolean);
      });
      ws.once('unexpected-response', (_req, res: IncomingMessage) => {
        void refusalError(res, url).then((err) => {
          this.api.trace(`<-- ${res.statusCode} WS ${url}`);
          refuse(err);
        });
      });
      ws.once('open', () => {
        opened = true;
        settled = true;
        clearTimeout(handshakeTimer);
        this.api.trace(`<-- 101 WS ${url}`);
        this.started();
        resolve();
      });
      ws.on('error', (err) => {
        if (opened) {
          // ws answers a bad message with a close frame and waits up to 30 s for the peer's
          // close; a hostile peer never sends one, so drop the connection now.
          this.socketError ??= err.message;
          ws.terminate();
          return;
        }
        const code = (err as NodeJS.ErrnoException).code;
        refuse(new ConnectionError(`cannot reach the API at ${this.api.target.baseUrl}: ${code ?? err.message}`, this.api.target.baseUrl));
      });
      ws.on('close', (code, reason) => {
        if (!opened) return;
        const why = this.socketError ? `the sprite sent a message the CLI cannot read: ${this.socketError}` : describeClose(code, reason);
        this.fail(`connection to sprite ${this.sprite} lost before the command finished (${why})`);
      });
    });
  }

  /** Forward a signal: a signal message where the server accepts them, else the kill endpoint. */
  async signal(name: SignalName): Promise<void> {
    if (this.finished) return;
    if (!this.ws || this.ws.readyState === WebSocket.CONNECTING) {
      // Not open yet: forwarded as soon as it is.
      this.pendingSignals.push(name);
      return;
    }
    if (this.capabilities.includes('signal') && this.ws?.readyState === WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: 'signal', signal: name }));
      return;
    }
    if (this.sessionId === undefined) return;
    const res = await this.api.stream('POST', apiPath('sprites', this.sprite, 'exec', this.sessionId, 'kill'), { query: { signal: `SIG${name}`, timeout: '10s' } });
    res.body.destroy();
  }

  resize(cols: number, rows: number): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: 'resize', cols, rows }));
  }

  /** Leave the session running and close our side (detach); `done` stays pending. */
  detach(): void {
    this.finished = true;
    this.stop();
  }

  /** Give up locally: close the socket without waiting for an exit code. */
  abort(): void {
    this.finished = true;
    this.stop();
  }

  private started(): void {
    const ws = this.ws!;
    this.lastSeen = Date.now();
    ws.on('message', (data, isBinary) => this.onMessage(data as Buffer, isBinary));
    ws.on('pong', () => (this.lastSeen = Date.now()));
    this.keepalive = setInterval(() => {
      // While our reader is slow we read nothing, pongs included, so silence proves nothing then.
      const deadAfterMs = DEAD_AFTER_INTERVALS * this.pingMs;
      if (!this.outputPaused && Date.now() - this.lastSeen > deadAfterMs) {
        ws.terminate();
        this.fail(`no answer from sprite ${this.sprite} for ${deadAfterMs / 1000}s; connection presumed dead`);
        return;
      }
      // Ping even while paused: the server counts our pings as a sign of life, so a reader that
      // stalls for minutes (`| less`) does not get its session dropped.
      ws.ping();
    }, this.pingMs);
    if (this.req.tty && this.req.cols && this.req.rows) this.resize(this.req.cols, this.req.rows);
    this.pumpStdin();
    for (const name of this.pendingSignals.splice(0)) void this.signal(name).catch(() => {});
  }

  private pumpStdin(): void {
    const ws = this.ws!;
    const stdin = this.io.stdin;
    // Attaching to a running session sends no EOF: the session's stdin is not ours to close.
    const sendEof = () => {
      if (!this.tty && ws.readyState === WebSocket.OPEN) ws.send(encodeFrame({ kind: 'stdinEof' }));
    };
    if (!stdin) {
      if (this.req.attachId === undefined) sendEof();
      return;
    }
    let waiting = false;
    const pacer = new YoungGcPacer();
    const onData = (chunk: Buffer) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      pacer.carried(chunk.byteLength);
      const payload = this.tty ? chunk : encodeFrame({ kind: 'stdin', data: chunk });
      ws.send(payload, { binary: true }, () => {
        if (waiting && ws.bufferedAmount < STDIN_LOW_WATER) {
          waiting = false;
          stdin.resume();
        }
      });
      if (ws.bufferedAmount > STDIN_HIGH_WATER) {
        waiting = true;
        stdin.pause();
      }
    };
    stdin.on('data', onData);
    stdin.once('end', sendEof);
    stdin.on('error', sendEof);
    ws.once('close', () => {
      stdin.off('data', onData);
      stdin.off('end', sendEof);
    });
  }

  private onMessage(data: Buffer, isBinary: boolean): void {
    this.lastSeen = Date.now();
    if (this.finished) return;
    if (!isBinary) {
      const msg = parseServerControl(data.toString('utf8'));
      if (!msg) return;
      if (msg.type === 'session_info') {
        this.sessionId = String(msg.session_id);
        this.tty = msg.tty;
        this.handlers.onSessionInfo?.(msg);
        const early = this.early;
        this.early = undefined;
        for (const frame of early ?? []) this.onMessage(frame, true);
      } else if (msg.type === 'exit') {
        this.exited(msg.exit_code);
      } else {
        this.handlers.onPort?.(msg);
      }
      return;
    }
    if (this.early) {
      this.early.push(Buffer.from(data));
      return;
    }
    if (this.tty) {
      // The contract lets a server end a TTY session with a binary exit frame too: a whole
      // two-byte message [0x03, code].
      if (data.byteLength === 2 && data[0] === 0x03) this.exited(data[1]!);
      else this.output(1, data);
      return;
    }
    const frame = decodeFrame(data);
    if (frame.kind === 'stdout') this.output(1, Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
    else if (frame.kind === 'stderr') this.output(2, Buffer.from(frame.data.buffer, frame.data.byteOffset, frame.data.byteLength));
    else if (frame.kind === 'exit') this.exited(frame.code);
    // A frame we cannot place means output may be lost or misread: the outcome is unknown.
    else if (frame.kind === 'error') this.protocolError(frame.reason);
    else this.protocolError(`a ${frame.kind} frame, which only a client sends`);
  }

  private output(stream: 1 | 2, data: Buffer): void {
    const chunk = this.handlers.filterOutput ? this.handlers.filterOutput(stream, data) : data;
    if (chunk.byteLength === 0) return;
    const target = stream === 1 ? this.io.stdout : this.io.stderr;
    if (!target.write(chunk) && !this.outputPaused) {
      // A slow reader: stop reading the socket until the local stream drains (TCP then slows the server).
      this.outputPaused = true;
      this.ws?.pause();
      target.once('drain', () => {
        this.outputPaused = false;
        this.lastSeen = Date.now();
        this.ws?.resume();
      });
    }
  }

  private exited(code: number): void {
    if (this.finished) return;
    this.exitCode = code;
    this.finished = true;
    this.stop();
    const result = { exitCode: code, sessionId: this.sessionId };
    void Promise.all([flush(this.io.stdout), flush(this.io.stderr)]).then(() => this.settle.resolve(result));
  }

  private fail(message: string): void {
    if (this.finished) return;
    this.finished = true;
    this.stop();
    this.settle.reject(new TransportError(message));
  }

  private protocolError(reason: string): void {
    if (this.ws) this.ws.terminate();
    this.fail(`sprite ${this.sprite} broke the exec protocol (${reason}); the command's outcome is unknown`);
  }

  /** Close our side at once (code 1000); never wait on the server's close (§2). */
  private stop(): void {
    if (this.keepalive) clearInterval(this.keepalive);
    this.keepalive = undefined;
    const ws = this.ws;
    if (!ws) return;
    if (ws.readyState === WebSocket.OPEN) {
      ws.close(1000);
      setTimeout(() => ws.terminate(), CLOSE_WAIT_MS).unref();
    } else if (ws.readyState === WebSocket.CONNECTING) {
      ws.terminate();
    }
    if (this.outputPaused) ws.resume();
  }
}

/** Resolve once everything written to the stream so far has been handed to the OS. */
/** Resolves once everything written to the stream so far has been handed to the OS. */
export function flush(stream: Writable): Promise<void> {
  if (stream.writableLength === 0 || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      stream.off('error', done);
      resolve();
    };
    stream.once('error', done);
    stream.write(Buffer.alloc(0), done);
  });
}

/** The URL without its query (the command line, which may hold secrets, stays out of messages). */
function redactUrl(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

function describeClose(code: number, reason: Buffer): string {
  const text = reason.toString('utf8');
  if (code === 1006) return 'connection dropped';
  return `close code ${code}${text ? `: ${text}` : ''}`;
}
