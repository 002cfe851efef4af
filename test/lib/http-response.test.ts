import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { HttpResponseReader, type ResponseEvent } from '../../src/lib/http-response.js';

function chunked(payloads: Buffer[], trailer = ''): Buffer {
  const parts = [Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n')];
  for (const p of payloads) parts.push(Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n'));
  parts.push(Buffer.from(`0\r\n${trailer}\r\n`));
  return Buffer.concat(parts);
}

function feed(bytes: Buffer, cuts: number[]): ResponseEvent[] {
  const reader = new HttpResponseReader();
  const events: ResponseEvent[] = [];
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)) {
    events.push(...reader.push(bytes.subarray(at, cut)));
    at = cut;
  }
  events.push(...reader.push(bytes.subarray(at)));
  return events;
}

describe('HttpResponseReader', () => {
  it('gives back exactly the chunks the server wrote, however the bytes are split', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.constantFrom('', 'X-Trailer: 1\r\n'),
        (payloads, cuts, trailer) => {
          const bufs = payloads.map((p) => Buffer.from(p));
          const events = feed(chunked(bufs, trailer), cuts);
          expect(events[0]).toMatchObject({ type: 'head', status: 200 });
          const chunks = events.filter((e) => e.type === 'chunk').map((e) => (e as { data: Buffer }).data);
          expect(chunks).toEqual(bufs);
          expect(events[events.length - 1]).toEqual({ type: 'end' });
        },
      ),
    );
  });

  it('skips 100 Continue, reads Content-Length bodies and reports error statuses', () => {
    const events = feed(Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Length: 5\r\n\r\nnopeX'), [30]);
    expect(events[0]).toMatchObject({ type: 'head', status: 404 });
    const body = Buffer.concat(events.filter((e) => e.type === 'chunk').map((e) => (e as { data: Buffer }).data));
    expect(body.toString()).toBe('nope'.concat('X').slice(0, 5));
    expect(events[events.length - 1]).toEqual({ type: 'end' });
  });

  it('refuses what is not HTTP', () => {
    expect(() => new HttpResponseReader().push(Buffer.from('SSH-2.0-OpenSSH\r\n\r\n'))).toThrow(/not an HTTP response/);
    expect(() => new HttpResponseReader().push(Buffer.from('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'))).toThrow(/bad chunk size/);
  });
});
