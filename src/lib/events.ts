// Reading a streamed operation's NDJSON events (checkpoint create/restore, SPRITES-API.md §7).
// The HTTP status is not trusted: only a `complete` event means success.
import { NdjsonParser, type NdjsonItem } from '../protocol/ndjson.js';
import { ConnectionError, type HttpResponse } from './api.js';
import { OperationError } from './errors.js';

export interface OperationEvent {
  type: string;
  data?: string;
  error?: string;
  time?: string;
  [key: string]: unknown;
}

/** The stream said `error`, or ended without `complete`: exit 1. */
export class StreamFailedError extends OperationError {
  constructor(
    message: string,
    readonly event?: OperationEvent,
  ) {
    super(message);
    this.name = 'StreamFailedError';
  }
}

export interface EventHandlers {
  onEvent(event: OperationEvent): void | Promise<void>;
  /** A line that is not a JSON event object: reported, then ignored. */
  onInvalid?(message: string): void;
}

/**
 * Read events until the stream ends. Resolves with the `complete` event; rejects with
 * StreamFailedError on an `error` event (after handing it to onEvent), or when the stream ends,
 * breaks or goes idle (readEvents' timeout) before `complete`.
 */
export async function readOperationStream(res: HttpResponse, what: string, handlers: EventHandlers): Promise<OperationEvent> {
  let completed: OperationEvent | undefined;
  try {
    for await (const item of readEvents(res, { label: what })) {
      if (!item.ok) {
        handlers.onInvalid?.(`ignored a line from the server that is not JSON (${item.error})`);
        continue;
      }
      const v = item.value;
      if (typeof v !== 'object' || v === null || Array.isArray(v) || typeof (v as OperationEvent).type !== 'string') {
        handlers.onInvalid?.('ignored a line from the server that is not an event object');
        continue;
      }
      const event = v as OperationEvent;
      await handlers.onEvent(event);
      if (event.type === 'error') {
        const message = typeof event.error === 'string' ? event.error : typeof event.data === 'string' ? event.data : 'unknown error';
        throw new StreamFailedError(`${what} failed: ${message}`, event);
      }
      if (event.type === 'complete') completed = event;
    }
  } catch (err) {
    if (err instanceof ConnectionError) throw new StreamFailedError(`${err.message} before the server reported completion; the result is unknown`);
    throw err;
  }
  if (!completed) throw new StreamFailedError(`${what}: the server ended the stream without reporting completion; the result is unknown`);
  return completed;
}

// Reading any NDJSON response body item by item, in bounded memory and with an idle timeout, so a
// stuck or hostile server can neither hang a command nor make it hold an unbounded line.
export interface EventStreamOptions {
  /** Give up when no byte arrives for this long (0 = never). */
  idleTimeoutMs?: number;
  /** Longest line kept; a longer one is skipped and reported as an item with ok:false. */
  maxLineBytes?: number;
  signal?: AbortSignal;
  /** For error messages: what is being read, e.g. "POST /v1/sprites/x/checkpoint". */
  label?: string;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
export const DEFAULT_MAX_EVENT_LINE = 1024 * 1024;

/**
 * Every line of the body as an NdjsonItem. Throws ConnectionError when the stream goes idle, breaks,
 * or ends in the middle of a line that is not valid JSON (a truncated event).
 */
export async function* readEvents(res: HttpResponse, options: EventStreamOptions = {}): AsyncGenerator<NdjsonItem> {
  const label = options.label ?? 'the event stream';
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const parser = new NdjsonParser({ maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_EVENT_LINE });
  const reader = res.body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  let lastByte = 0x0a;
  try {
    for (;;) {
      const chunk = await readWithin(reader, idleMs, options.signal, label);
      if (chunk === undefined) break;
      if (chunk.byteLength > 0) lastByte = chunk[chunk.byteLength - 1]!;
      yield* parser.push(chunk);
    }
    const tail = parser.end();
    const truncated = lastByte !== 0x0a && tail.length > 0 && !tail[tail.length - 1]!.ok;
    if (truncated) throw new ConnectionError(`${label}: the server closed the stream in the middle of a line`, res.url);
    yield* tail;
  } finally {
    res.body.destroy();
  }
}

async function readWithin(
  reader: AsyncIterator<Buffer>,
  idleMs: number,
  signal: AbortSignal | undefined,
  label: string,
): Promise<Uint8Array | undefined> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = new Promise<never>((_, reject) => {
    if (idleMs > 0) timer = setTimeout(() => reject(new ConnectionError(`${label}: no data for ${idleMs / 1000}s; giving up`, '', false, true)), idleMs);
    if (signal) {
      onAbort = () => reject(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
    }
  });
  try {
    const { done, value } = await Promise.race([reader.next(), stop]);
    return done ? undefined : value;
  } catch (err) {
    if (err instanceof ConnectionError || (err as Error)?.name === 'AbortError') throw err;
    throw new ConnectionError(`${label}: the connection broke (${(err as Error)?.message ?? String(err)})`, '');
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
