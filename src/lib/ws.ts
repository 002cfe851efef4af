// Every client WebSocket the CLI opens (exec, attach, proxy, port forwarding) is created here.
import { isIP } from 'node:net';
import WebSocket, { type ClientOptions } from 'ws';
import type { IncomingMessage } from 'node:http';
import { apiErrorFrom, type ApiClient, type ApiError, type ApiTarget } from './api.js';
import { headerLookup } from './transport.js';
import { connectReadingIntoSlabs } from './socket-reads.js';

/**
 * Whether frames to this URL may go unmasked (a zero mask). Masking (RFC 6455 §10.3) protects
 * browser-hosted scripts against poisoning intermediaries' caches; a CLI talking to the local engine
 * over loopback has no intermediary, and with a zero mask `ws` skips the per-byte masking work on
 * both ends (about half the CPU of a bulk upload: docs/notes/perf.md). Anything else is masked.
 */
export function maskingUnneeded(target: ApiTarget, url: string): boolean {
  if (!target.isLocal) return false;
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return false;
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === 'localhost') return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  if (isIP(host) === 6) return host === '::1' || /^::ffff:127\./i.test(host);
  return false;
}

const zeroMask = (mask: Buffer): void => {
  mask.fill(0);
};

/** A client WebSocket to the API: its headers, no compression, and no masking where that is safe. */
export function openWebSocket(api: ApiClient, url: string, options: ClientOptions = {}): WebSocket {
  return new WebSocket(url, {
    ...options,
    headers: { ...api.headers(), ...options.headers },
    perMessageDeflate: false,
    ...(maskingUnneeded(api.target, url) ? { generateMask: zeroMask } : {}),
    // Plain ws: (the local engine, mostly): reads into slabs without a buffer per read
    // (socket-reads.ts); TLS connections go ws's default way.
    ...(url.startsWith('ws:') ? { createConnection: connectReadingIntoSlabs as ClientOptions['createConnection'] } : {}),
  });
}

/** Refusal bodies are read up to this many bytes: a hostile server must not fill our memory. */
export const MAX_REFUSAL_BODY_BYTES = 64 * 1024;

/** The ApiError for a refused upgrade (`unexpected-response`), from a bounded read of its body. */
export function refusalError(res: IncomingMessage, url: string): Promise<ApiError> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      res.destroy();
      const body = Buffer.concat(chunks).subarray(0, MAX_REFUSAL_BODY_BYTES).toString('utf8');
      resolve(apiErrorFrom(res.statusCode ?? 500, body, headerLookup(res.headers), 'GET', url));
    };
    res.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.byteLength;
      if (size >= MAX_REFUSAL_BODY_BYTES) finish();
    });
    res.on('error', finish);
    res.on('end', finish);
    res.on('close', finish);
  });
}
