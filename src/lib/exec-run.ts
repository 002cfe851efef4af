// `sprites exec` as a whole: picks the streams, the TTY, the environment, then runs an
// ExecSession (or the HTTP fallback) and turns local signals, timeouts and broken pipes into
// what a local command would do. Returns the exit code; never touches oclif.
import { fstatSync } from 'node:fs';
import { Writable } from 'node:stream';
import type { ReadStream, WriteStream } from 'node:tty';
import { ApiClient, ApiError, ConnectionError } from './api.js';
import { UsageError } from './errors.js';
import { ExecSession, TransportError, type ExecRequest, type ExecResult } from './exec.js';
import type { PortForwarder } from './port-forward.js';
import { RawModeGuard, terminalSize, watchResize } from './tty.js';
import type { SignalName } from '../protocol/messages.js';

/**
 * What a command gets when the CLI sends an environment (any -e, or -t for the terminal's
 * variables): the API's env replaces the remote environment entirely, so these come first and
 * -e values override them. /home/sprite is the sprite's home as every sprite shows it.
 */
export const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/home/sprite',
  USER: 'sprite',
  LOGNAME: 'sprite',
  SHELL: '/bin/bash',
  LANG: 'C.UTF-8',
};

/** Local variables a TTY session takes along, so the remote terminal behaves like this one. */
export const TTY_ENV_VARS = ['TERM', 'COLORTERM', 'LANG', 'LC_ALL'] as const;

/** After a timeout: TERM, then KILL this much later, then give up waiting this much later. */
const TIMEOUT_KILL_AFTER_MS = 5_000;
/** `timeout(1)`'s exit code. */
export const TIMEOUT_EXIT_CODE = 124;
const INTERRUPTED_EXIT_CODE = 130;
/** Local stdout closed under us (`| head`): what a local command killed by SIGPIPE returns. */
const SIGPIPE_EXIT_CODE = 141;

export interface RunExecOptions {
  argv: string[];
  /** -e values. */
  env: Record<string, string>;
  dir?: string;
  tty: boolean;
  interactive: boolean;
  timeoutMs?: number;
  http: boolean;
  /** undefined: forward ports when stdout is a terminal. */
  portForward?: boolean;
  /** Collect stdout/stderr instead of writing them. */
  collect: boolean;
  notice(line: string): void;
}

export interface RunExecResult {
  exitCode: number;
  stdout: Buffer;
  stderr: Buffer;
  durationMs: number;
  sessionId?: string;
}

/** The environment to send, or undefined to let the sprite use its own defaults. */
export function execEnv(extra: Record<string, string>, tty: boolean, local: NodeJS.ProcessEnv = process.env): Record<string, string> | undefined {
  if (!tty && Object.keys(extra).length === 0) return undefined;
  const env: Record<string, string> = { ...BASE_ENV };
  if (tty) {
    env.TERM = 'xterm-256color';
    for (const name of TTY_ENV_VARS) {
      const v = local[name];
      if (v) env[name] = v;
    }
  }
  return { ...env, ...extra };
}

/** Stdin is forwarded when it is a pipe, a file or a socket; a terminal or /dev/null only with -i. */
export function stdinIsData(): boolean {
  try {
    const st = fstatSync(0);
    return st.isFIFO() || st.isFile() || st.isSocket();
  } catch {
    return false;
  }
}

class Collector extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Failures of the WebSocket itself (not of the API behind it) after which HTTP may still work. */
function webSocketBlocked(err: unknown): boolean {
  if (err instanceof ApiError) return [200, 405, 426, 501].includes(err.status);
  if (err instanceof ConnectionError) return /ECONNRESET|EPROTO|socket hang up|Unexpected server response/i.test(err.message);
  return false;
}

export async function runExec(api: ApiClient, sprite: string, options: RunExecOptions): Promise<RunExecResult> {
  const started = Date.now();
  let tty = options.tty;
  if (tty && options.collect) throw new UsageError('--json cannot be combined with -t/--tty: a terminal merges stdout and stderr');
  if (tty && options.http) throw new UsageError('--http cannot be combined with -t/--tty: the HTTP exec has no terminal');
  if (tty && !process.stdin.isTTY) {
    options.notice('warning: -t ignored because stdin is not a terminal; running without a TTY');
    tty = false;
  }
  const forwardStdin = tty || options.interactive || stdinIsData();
  const stdout = options.collect ? new Collector() : process.stdout;
  const stderr = options.collect ? new Collector() : process.stderr;
  const size = tty ? terminalSize(process.stdout as WriteStream) : undefined;
  const req: ExecRequest = {
    argv: options.argv,
    env: execEnv(options.env, tty),
    dir: options.dir,
    tty,
    cols: size?.cols,
    rows: size?.rows,
    stdin: forwardStdin,
  };
  const io = { stdin: forwardStdin ? process.stdin : undefined, stdout, stderr };
  const cleanups: Array<() => void> = [];
  const finish = (result: ExecResult | { exitCode: number; sessionId?: string }): RunExecResult => ({
    exitCode: result.exitCode,
    stdout: stdout instanceof Collector ? stdout.bytes() : Buffer.alloc(0),
    stderr: stderr instanceof Collector ? stderr.bytes() : Buffer.alloc(0),
    durationMs: Date.now() - started,
    sessionId: result.sessionId,
  });

  try {
    if (options.http) return finish(await runHttp(api, sprite, req, io, options, cleanups));
    const forwardPorts = options.portForward ?? process.stdout.isTTY === true;
    // Loaded only when used, like the HTTP exec below: start-up is most of a short exec's time.
    const forwarder: PortForwarder | undefined = forwardPorts ? new (await import('./port-forward.js')).PortForwarder(api, sprite, options.notice) : undefined;
    if (forwarder) cleanups.push(() => forwarder.closeAll());
    const session = new ExecSession(api, sprite, req, io, {
      onPort: (event) => {
        if (!forwarder) return;
        if (event.type === 'port_opened') forwarder.open(event.port);
        else forwarder.close(event.port);
      },
    });
    let localExit: number | undefined;
    let resolveAbort!: () => void;
    const aborted = new Promise<void>((resolve) => (resolveAbort = resolve));
    const abort = (code: number) => {
      localExit = code;
      session.abort();
      resolveAbort();
    };
    // Before the socket opens: output can reach the terminal (and a script can react to it)
    // before `open()` returns, and a signal must never find the default handler then.
    cleanups.push(forwardSignals(session, tty, options.notice, () => abort(INTERRUPTED_EXIT_CODE)));
    try {
      const opening = session.open();
      opening.catch(() => {});
      await Promise.race([opening, aborted]);
    } catch (err) {
      if (tty || !webSocketBlocked(err)) throw err;
      options.notice(`warning: the WebSocket exec failed (${(err as Error).message}); falling back to HTTP exec, whose frames carry no lengths`);
      return finish(await runHttp(api, sprite, req, io, options, cleanups));
    }

    if (tty) {
      const guard = new RawModeGuard(process.stdin as ReadStream, process.stdout as WriteStream);
      guard.enable();
      cleanups.push(() => guard.restore());
      cleanups.push(watchResize(process.stdout as WriteStream, (cols, rows) => session.resize(cols, rows)));
    }
    // Local stdout closed (`| head -1`): stop the remote command and end quietly, like a local one.
    if (!options.collect) {
      const onPipeError = (err: NodeJS.ErrnoException) => {
        if (err.code !== 'EPIPE') return;
        void session.signal('TERM').catch(() => {});
        setTimeout(() => abort(SIGPIPE_EXIT_CODE), 50).unref();
      };
      process.stdout.on('error', onPipeError);
      cleanups.push(() => process.stdout.off('error', onPipeError));
    }

    let timedOut = false;
    if (options.timeoutMs !== undefined) {
      const timers: NodeJS.Timeout[] = [];
      timers.push(
        setTimeout(() => {
          timedOut = true;
          void session.signal('TERM').catch(() => {});
          timers.push(setTimeout(() => void session.signal('KILL').catch(() => {}), TIMEOUT_KILL_AFTER_MS));
          timers.push(setTimeout(() => abort(TIMEOUT_EXIT_CODE), 2 * TIMEOUT_KILL_AFTER_MS));
        }, options.timeoutMs),
      );
      cleanups.push(() => timers.forEach(clearTimeout));
    }

    const result = await Promise.race([session.done, aborted.then(() => undefined)]);
    if (localExit !== undefined || !result) return finish({ exitCode: localExit ?? 255, sessionId: session.sessionId });
    return finish(timedOut ? { ...result, exitCode: TIMEOUT_EXIT_CODE } : result);
  } finally {
    for (const fn of cleanups.reverse()) fn();
    if (forwardStdin) {
      process.stdin.pause();
      process.stdin.destroy();
    }
  }
}

async function runHttp(
  api: ApiClient,
  sprite: string,
  req: ExecRequest,
  io: { stdin?: NodeJS.ReadableStream; stdout: NodeJS.WritableStream; stderr: NodeJS.WritableStream },
  options: RunExecOptions,
  cleanups: Array<() => void>,
): Promise<ExecResult> {
  const controller = new AbortController();
  let timedOut = false;
  if (options.timeoutMs !== undefined) {
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, options.timeoutMs);
    cleanups.push(() => clearTimeout(timer));
  }
  try {
    const { execOverHttp } = await import('./exec-http.js');
    return await execOverHttp(api, sprite, req, io as Parameters<typeof execOverHttp>[3], controller.signal);
  } catch (err) {
    // Dropping the request disconnects the session; the engine stops it after max_run_after_disconnect.
    if (timedOut) return { exitCode: TIMEOUT_EXIT_CODE, sessionId: undefined };
    throw err;
  }
}

/**
 * SIGINT, SIGTERM and SIGHUP go to the remote command, and we wait for its exit code; a second
 * SIGINT gives up locally (130). In a TTY session Ctrl-C is a keystroke and never gets here.
 */
function forwardSignals(session: ExecSession, tty: boolean, notice: (line: string) => void, giveUp: () => void): () => void {
  let interrupts = 0;
  const handlers: Array<[NodeJS.Signals, () => void]> = [];
  const on = (signal: NodeJS.Signals, name: SignalName) => {
    const handler = () => {
      if (signal === 'SIGINT' && ++interrupts > 1) {
        giveUp();
        return;
      }
      if (signal === 'SIGINT' && !tty && process.stderr.isTTY) notice('^C sent to the remote command; press Ctrl-C again to stop waiting for it');
      session.signal(name).catch((err: Error) => notice(`could not forward ${signal}: ${err.message}`));
    };
    process.on(signal, handler);
    handlers.push([signal, handler]);
  };
  on('SIGINT', 'INT');
  on('SIGTERM', 'TERM');
  on('SIGHUP', 'HUP');
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

export { TransportError };
