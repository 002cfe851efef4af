// Read an NDJSON response body (checkpoint, restore, kill, services streams) as parsed events,
// in bounded memory and with an idle timeout, so a stuck or hostile server cannot hang or bloat us.
import { NdjsonParser, type NdjsonItem } from '../protocol/ndjson.js';
import { ConnectionError } from './api.js';

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
export async function* readEvents(res: Response, options: EventStreamOptions = {}): AsyncGenerator<NdjsonItem> {
  const label = options.label ?? 'the event stream';
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  const parser = new NdjsonParser({ maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_EVENT_LINE });
  if (!res.body) return;
  const reader = res.body.getReader();
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
    await reader.cancel().catch(() => {});
  }
}

async function readWithin(
  reader: ReadableStreamDefaultReader<Uint8Array>,
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
    const { done, value } = await Promise.race([reader.read(), stop]);
    return done ? undefined : value;
  } catch (err) {
    if (err instanceof ConnectionError || (err as Error)?.name === 'AbortError') throw err;
    throw new ConnectionError(`${label}: the connection broke (${(err as Error)?.message ?? String(err)})`, '');
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
