// Exec over HTTP (SPRITES-API.md §5), the non-TTY fallback for where WebSockets are blocked:
// stdin is the request body, the response is the same [stream byte][payload] frames as the
// WebSocket path. Those frames carry no length: the only delimiter is the HTTP chunk each one
// arrives in. So the request is written and the response read on a raw socket (HttpResponseReader
// keeps the chunk boundaries that Node's HTTP parser loses). A proxy that re-chunks the body still
// garbles the streams; that is why this is only a fallback.
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { Readable, Writable } from 'node:stream';
import { ApiClient, ConnectionError, apiErrorFrom, apiPath } from './api.js';
import { HttpResponseReader } from './http-response.js';
import { decodeFrame } from '../protocol/frames.js';
import { execQuery, flush, TransportError, type ExecRequest, type ExecResult } from './exec.js';

export interface HttpExecIO {
  stdin?: Readable;
  stdout: Writable;
  stderr: Writable;
}

/** Error bodies are read up to this many bytes. */
const MAX_ERROR_BODY = 64 * 1024;

export function execOverHttp(api: ApiClient, sprite: string, req: ExecRequest, io: HttpExecIO, signal?: AbortSignal): Promise<ExecResult> {
  const url = new URL(api.url(apiPath('sprites', sprite, 'exec'), execQuery({ ...req, tty: false, stdin: io.stdin !== undefined })));
  api.trace(`--> POST ${url.href}`);
  const secure = url.protocol === 'https:';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = Number(url.port) || (secure ? 443 : 80);
  const socket: Socket = secure ? tlsConnect({ host, port, servername: host }) : netConnect({ host, port });
  socket.setNoDelay(true);

  return new Promise((resolve, reject) => {
    let settled = false;
    let connected = false;
    let stopBody = () => {};
    const settle = (fn: () => void) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      stopBody();
      fn();
    };
    const onAbort = () => settle(() => reject(Object.assign(new Error('aborted'), { name: 'AbortError' })));
    signal?.addEventListener('abort', onAbort, { once: true });

    socket.once(secure ? 'secureConnect' : 'connect', () => {
      connected = true;
      const headers = api.headers({ accept: 'application/octet-stream', 'content-type': 'application/octet-stream' });
      let head = `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n`;
      for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
      head += io.stdin ? 'Transfer-Encoding: chunked\r\n\r\n' : 'Content-Length: 0\r\n\r\n';
      socket.write(head);
      if (io.stdin) stopBody = sendBody(io.stdin, socket);
    });

    const reader = new HttpResponseReader();
    let status = 0;
    let headers = new Map<string, string>();
    const errorBody: Buffer[] = [];
    let errorBytes = 0;
    const failWithStatus = () =>
      settle(() => reject(apiErrorFrom(status, Buffer.concat(errorBody).toString('utf8'), { get: (n) => headers.get(n.toLowerCase()) ?? null }, 'POST', url.href)));

    socket.on('data', (data: Buffer) => {
      let events;
      try {
        events = reader.push(data);
      } catch (err) {
        settle(() => reject(new TransportError(`the HTTP exec response for sprite ${sprite} is broken: ${(err as Error).message}`)));
        return;
      }
      for (const ev of events) {
        if (settled) return;
        if (ev.type === 'head') {
          status = ev.status;
          headers = ev.headers;
          api.trace(`<-- ${status} POST ${url.href}`);
        } else if (ev.type === 'end') {
          if (status >= 400) failWithStatus();
        } else if (status >= 400) {
          if (errorBytes < MAX_ERROR_BODY) errorBody.push(ev.data.subarray(0, MAX_ERROR_BODY - errorBytes));
          errorBytes += ev.data.length;
        } else {
          const frame = decodeFrame(ev.data);
          if (frame.kind === 'exit') {
            // Output still queued on a pipe must reach it before the caller exits the process.
            settle(() => void Promise.all([flush(io.stdout), flush(io.stderr)]).then(() => resolve({ exitCode: frame.code, sessionId: undefined })));
            return;
          }
          if (frame.kind !== 'stdout' && frame.kind !== 'stderr') continue;
          const target = frame.kind === 'stdout' ? io.stdout : io.stderr;
          if (!target.write(frame.data)) {
            socket.pause();
            target.once('drain', () => socket.resume());
          }
        }
      }
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (!connected) {
        settle(() => reject(new ConnectionError(`cannot reach the API at ${api.target.baseUrl}: ${err.code ?? err.message}`, api.target.baseUrl)));
      } else {
        settle(() => reject(new TransportError(`connection to sprite ${sprite} lost before the command finished (${err.message})`)));
      }
    });
    socket.on('close', () => {
      if (status >= 400) failWithStatus();
      else settle(() => reject(new TransportError(`the HTTP exec response for sprite ${sprite} ended without an exit code`)));
    });
  });
}

/** Stream stdin as the chunked request body, pausing it while the socket is full; returns a stop. */
function sendBody(stdin: Readable, socket: Socket): () => void {
  const finish = () => {
    if (!socket.destroyed) socket.write('0\r\n\r\n');
  };
  const onData = (data: Buffer) => {
    if (data.length === 0 || socket.destroyed) return;
    socket.write(`${data.length.toString(16)}\r\n`);
    socket.write(data);
    if (!socket.write('\r\n')) {
      stdin.pause();
      socket.once('drain', () => stdin.resume());
    }
  };
  stdin.on('data', onData);
  stdin.once('end', finish);
  stdin.once('error', finish);
  return () => {
    stdin.off('data', onData);
    stdin.off('end', finish);
    stdin.off('error', finish);
    stdin.pause();
  };
}
