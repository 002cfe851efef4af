// Small HTTP helpers for the engine's routes: JSON and error responses, bounded body reading.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorBody } from '../protocol/messages.js';

export const SERVER_VERSION = 'sprites-local/0.1.0';

/** Largest request body the engine reads for JSON endpoints. */
export const MAX_JSON_BODY = 1024 * 1024;

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly extra: Partial<ErrorBody> = {},
  ) {
    super(message);
  }
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'sprite-version': SERVER_VERSION,
  });
  res.end(text);
}

export function sendEmpty(res: ServerResponse, status = 204): void {
  res.writeHead(status, { 'sprite-version': SERVER_VERSION });
  res.end();
}

export function errorBody(status: number, code: string, message: string, extra: Partial<ErrorBody> = {}): ErrorBody {
  return { error: code, message, ...extra };
}

export function sendError(res: ServerResponse, err: HttpError): void {
  if (res.headersSent) {
    res.destroy(err);
    return;
  }
  // A request body left unread (too large, refused early) makes the connection unusable for the next request.
  if (!res.req.complete) res.setHeader('connection', 'close');
  sendJson(res, err.status, errorBody(err.status, err.code, err.message, err.extra));
}

export function readBody(req: IncomingMessage, limit = MAX_JSON_BODY): Promise<Buffer> {
  // Listeners rather than `for await`: leaving that loop early destroys the socket, and the 413
  // would never reach the client. Node discards the unread rest of an oversized body itself.
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new HttpError(413, 'body_too_large', `request body larger than ${limit} bytes`));
      return;
    }
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(new HttpError(413, 'body_too_large', `request body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/** Read a JSON object body; an empty body is {}. */
export async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const buf = await readBody(req);
  if (buf.byteLength === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(buf.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'invalid_json', `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_json', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Start an NDJSON streaming response. */
export function startNdjson(res: ServerResponse, status = 200): (event: unknown) => void {
  res.writeHead(status, {
    'content-type': 'application/x-ndjson',
    'cache-control': 'no-store',
    'sprite-version': SERVER_VERSION,
  });
  return (event) => {
    if (!res.destroyed) res.write(JSON.stringify(event) + '\n');
  };
}
