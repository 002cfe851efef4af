// Reading a streamed operation's NDJSON events (checkpoint create/restore, SPRITES-API.md §7).
// The HTTP status is not trusted: only a `complete` event means success.
import { NdjsonParser } from '../protocol/ndjson.js';
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
 * StreamFailedError on an `error` event (after handing it to onEvent) or when the stream ends
 * or breaks before `complete`.
 */
export async function readOperationStream(res: Response, what: string, handlers: EventHandlers): Promise<OperationEvent> {
  if (!res.body) throw new StreamFailedError(`${what}: the server sent no event stream`);
  const parser = new NdjsonParser({ maxLineBytes: 1024 * 1024 });
  const reader = res.body.getReader();
  let completed: OperationEvent | undefined;
  const handle = async (items: ReturnType<NdjsonParser['push']>) => {
    for (const item of items) {
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
  };
  try {
    for (;;) {
      let chunk: Awaited<ReturnType<typeof reader.read>>;
      try {
        chunk = await reader.read();
      } catch (err) {
        const cause = (err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new StreamFailedError(`${what}: the connection broke before the server reported completion (${cause}); the result is unknown`);
      }
      if (chunk.done) break;
      await handle(parser.push(chunk.value));
    }
    await handle(parser.end());
  } finally {
    reader.cancel().catch(() => {});
  }
  if (!completed) throw new StreamFailedError(`${what}: the server ended the stream without reporting completion; the result is unknown`);
  return completed;
}
