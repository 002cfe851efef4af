// Exec over HTTP (SPRITES-API.md §5), the non-TTY fallback for where WebSockets are blocked:
// stdin is the request body, the response is the same [stream byte][payload] frames as the
// WebSocket path. Those frames carry no length: the only delimiter is the HTTP chunk each one
// arrives in, so a proxy that re-chunks the body garbles the streams. That is why this is only
// a fallback.
//
// It uses node:http directly rather than ApiClient.stream, on purpose: it needs the request body
// streamed while the answer is read, and an IncomingMessage in flowing mode hands the server's
// chunks over one by one. URL, headers, tracing and error bodies still come from ApiClient.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Readable, Writable } from 'node:stream';
import { ApiClient, ConnectionError, apiErrorFrom, apiPath } from './api.js';
import { headerLookup } from './transport.js';
import { decodeFrame } from '../protocol/frames.js';
import { execQuery, TransportError, type ExecRequest, type ExecResult } from './exec.js';

export interface HttpExecIO {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
}

export function execOverHttp(api: ApiClient, sprite: string, req: ExecRequest, io: HttpExecIO, signal?: AbortSignal): Promise<ExecResult> {
  const url = api.url(apiPath('sprites', sprite, 'exec'), execQuery({ ...req, tty: false, stdin: io.stdin !== undefined }));
  api.trace(`--> POST ${url}`);
  const send = url.startsWith('https:') ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      fn();
    };
    const request = send(url, {
      method: 'POST',
      headers: api.headers({ accept: 'application/octet-stream', 'content-type': 'application/octet-stream' }),
      signal,
    });
    request.on('error', (err) => {
      settle(() => {
        if (err.name === 'AbortError') reject(err);
        else if (request.reusedSocket || (err as NodeJS.ErrnoException).code === 'ECONNRESET') reject(new TransportError(`connection to sprite ${sprite} lost before the command finished (${err.message})`));
        else reject(new ConnectionError(`cannot reach the API at ${api.target.baseUrl}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, api.target.baseUrl));
      });
    });
    request.on('response', (res) => {
      api.trace(`<-- ${res.statusCode} POST ${url}`);
      if ((res.statusCode ?? 500) >= 400) {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => settle(() => reject(apiErrorFrom(res.statusCode ?? 500, Buffer.concat(chunks).toString('utf8'), headerLookup(res.headers), 'POST', url))));
        return;
      }
      res.on('data', (chunk: Buffer) => {
        const frame = decodeFrame(chunk);
        if (frame.kind === 'exit') {
          settle(() => resolve({ exitCode: frame.code, sessionId: undefined }));
          res.destroy();
          request.destroy();
          return;
        }
        if (frame.kind !== 'stdout' && frame.kind !== 'stderr') return;
        const target = frame.kind === 'stdout' ? io.stdout : io.stderr;
        if (!target.write(frame.data)) {
          res.pause();
          target.once('drain', () => res.resume());
        }
      });
      res.on('error', () => {});
      res.on('close', () => settle(() => reject(new TransportError(`the HTTP exec response for sprite ${sprite} ended without an exit code`))));
    });
    if (io.stdin) {
      io.stdin.pipe(request);
      io.stdin.on('error', () => request.end());
    } else {
      request.end();
    }
  });
}
