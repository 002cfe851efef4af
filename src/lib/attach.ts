// `sprites attach`: the raw-mode bridge to a running session (SPRITES-API.md §3). Replays the
// scrollback then live output, detaches on the detach keys, and reconnects when the connection
// drops, skipping what a replay repeats (using the engine's `replay_from` offset when the server
// sends it).
import { PassThrough } from 'node:stream';
import type { ReadStream, WriteStream } from 'node:tty';
import { ApiClient, ApiError, ConnectionError } from './api.js';
import { ExecSession, TransportError } from './exec.js';
import { stdinIsData } from './exec-run.js';
import { DetachKeyMatcher, RawModeGuard, terminalSize, watchResize } from './tty.js';

/** Reconnect delays after a dropped connection; after the last one, give up (255). */
export const RECONNECT_DELAYS_MS = [100, 250, 500, 1000, 2000, 4000];

export interface AttachOptions {
  sessionId: string;
  detachKeys: Buffer;
  notice(line: string): void;
}

export type AttachOutcome = { kind: 'exited'; exitCode: number } | { kind: 'detached' } | { kind: 'signalled'; exitCode: number };

/** Drops output already shown, given where each replay starts. */
class ReplayDedup {
  private shown: number | undefined;
  private cursor = 0;
  private known = false;

  sessionInfo(replayFrom: number | undefined): void {
    this.known = typeof replayFrom === 'number';
    if (!this.known) return;
    this.cursor = replayFrom!;
    if (this.shown === undefined) this.shown = replayFrom;
  }

  filter(data: Buffer): Buffer {
    if (!this.known || this.shown === undefined) return data;
    const start = this.cursor;
    this.cursor += data.byteLength;
    const skip = this.shown - start;
    this.shown = Math.max(this.shown, this.cursor);
    if (skip <= 0) return data;
    return skip >= data.byteLength ? Buffer.alloc(0) : data.subarray(skip);
  }
}

export async function runAttach(api: ApiClient, sprite: string, options: AttachOptions): Promise<AttachOutcome> {
  const localTty = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const forwardPipe = !localTty && stdinIsData();
  const input = localTty || forwardPipe ? new PassThrough() : undefined;
  const dedup = new ReplayDedup();
  const matcher = new DetachKeyMatcher(options.detachKeys);
  const guard = new RawModeGuard(process.stdin as ReadStream, process.stdout as WriteStream);
  const cleanups: Array<() => void> = [() => guard.restore()];
  let session: ExecSession | undefined;
  let sessionTty = false;
  let outcome: AttachOutcome | undefined;
  let resolveFinished!: (outcome: AttachOutcome) => void;
  const finished = new Promise<AttachOutcome>((resolve) => (resolveFinished = resolve));
  const finish = (o: AttachOutcome) => {
    outcome ??= o;
    resolveFinished(outcome);
  };

  const onKeys = (chunk: Buffer) => {
    if (!input) return;
    if (!sessionTty || !localTty) {
      input.write(chunk);
      return;
    }
    const { forward, detach } = matcher.feed(chunk);
    if (forward.byteLength) input.write(forward);
    if (detach) {
      session?.detach();
      finish({ kind: 'detached' });
    }
  };
  let reading = false;
  const startReading = () => {
    if (reading || !input) return;
    reading = true;
    process.stdin.on('data', onKeys);
    if (forwardPipe) process.stdin.once('end', () => input.end());
    cleanups.push(() => process.stdin.off('data', onKeys));
  };

  // A viewer leaves on SIGTERM/SIGHUP (and Ctrl-C outside raw mode); the session runs on.
  for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129], ['SIGINT', 130]] as const) {
    const handler = () => {
      session?.detach();
      finish(signal === 'SIGINT' ? { kind: 'detached' } : { kind: 'signalled', exitCode: code });
    };
    process.on(signal, handler);
    cleanups.push(() => process.off(signal, handler));
  }

  try {
    let legacy = false;
    let attempt = 0;
    let connectedOnce = false;
    for (;;) {
      const size = localTty ? terminalSize(process.stdout as WriteStream) : undefined;
      const current = new ExecSession(
        api,
        sprite,
        { attachId: options.sessionId, legacyAttach: legacy, tty: false, cols: size?.cols, rows: size?.rows, stdin: input !== undefined },
        { stdin: input, stdout: process.stdout, stderr: process.stderr },
        {
          onSessionInfo: (info) => {
            sessionTty = info.tty;
            dedup.sessionInfo(info.replay_from);
            if (sessionTty && localTty) {
              guard.enable();
              if (size) forceRedraw(current, size, info);
            }
            startReading();
          },
          filterOutput: (_stream, data) => dedup.filter(data),
        },
      );
      session = current;
      try {
        const opening = current.open();
        opening.catch(() => {});
        await Promise.race([opening, finished]);
        if (outcome) {
          current.detach();
          return outcome;
        }
      } catch (err) {
        if (err instanceof ApiError && err.status === 404 && !legacy && !connectedOnce && !/sprite/i.test(err.code)) {
          // Older servers only know exec?id=.
          legacy = true;
          continue;
        }
        if (err instanceof ApiError && err.status === 404) {
          const spriteMissing = /sprite/i.test(err.code) || /sprite not found/i.test(err.message);
          const message = spriteMissing ? `no sprite named ${sprite}` : `no session ${options.sessionId} in sprite ${sprite} (see: sprites sessions ${sprite})`;
          throw new ApiError({ status: 404, code: err.code, message, body: err.body, method: err.method, url: err.url });
        }
        if (!connectedOnce || !(err instanceof ConnectionError)) throw err;
        if (!(await backoff(attempt++, options, finished))) throw new TransportError(`could not reconnect to session ${options.sessionId} in sprite ${sprite}`);
        if (outcome) return outcome;
        continue;
      }
      if (!connectedOnce) {
        connectedOnce = true;
        cleanups.push(watchResize(process.stdout as WriteStream, (cols, rows) => session?.resize(cols, rows)));
      }
      attempt = 0;
      try {
        const result = await Promise.race([current.done, finished]);
        if ('kind' in result) return result;
        return { kind: 'exited', exitCode: result.exitCode };
      } catch (err) {
        if (!(err instanceof TransportError)) throw err;
        if (!(await backoff(attempt++, options, finished))) throw new TransportError(`${err.message}; gave up reconnecting`);
        if (outcome) return outcome;
      }
    }
  } finally {
    for (const fn of cleanups.reverse()) fn();
    if (input) {
      process.stdin.pause();
      process.stdin.destroy();
    }
  }
}

/** Wait before the next reconnect; false when out of attempts. */
async function backoff(attempt: number, options: AttachOptions, finished: Promise<unknown>): Promise<boolean> {
  const delay = RECONNECT_DELAYS_MS[attempt];
  if (delay === undefined) return false;
  options.notice(`\r\nconnection to session ${options.sessionId} lost; reconnecting (attempt ${attempt + 1} of ${RECONNECT_DELAYS_MS.length})…`);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((r) => (timer = setTimeout(r, delay))), finished]);
  clearTimeout(timer);
  return true;
}

/**
 * Tell the remote terminal our size. When it already has that size no SIGWINCH would follow, so
 * step through a different size first: full-screen programs redraw.
 */
function forceRedraw(session: ExecSession, size: { cols: number; rows: number }, info: { cols?: number; rows?: number }): void {
  if (info.cols === size.cols && info.rows === size.rows) session.resize(size.cols, Math.max(1, size.rows - 1));
  session.resize(size.cols, size.rows);
}
