// An incremental reader of one raw HTTP/1.1 response that keeps the body's chunk boundaries.
// The exec-over-HTTP frames (SPRITES-API.md §5) carry no length: each one is an HTTP chunk, and
// Node's HTTP parser does not say where chunks end (a chunk split across TCP reads arrives as two
// pieces). Reading the chunked encoding ourselves gives back exactly the chunks the server wrote.

export type ResponseEvent =
  | { type: 'head'; status: number; headers: Map<string, string> }
  | { type: 'chunk'; data: Buffer }
  | { type: 'end' };

const MAX_HEAD = 64 * 1024;
const MAX_CHUNK = 64 * 1024 * 1024;

export class HttpResponseReader {
  private state: 'head' | 'size' | 'data' | 'crlf' | 'trailer' | 'raw' | 'done' = 'head';
  private pending: Buffer = Buffer.alloc(0);
  private need = 0;
  private parts: Buffer[] = [];
  private rawLeft = Infinity;

  /** Feed raw bytes; returns what they completed. Throws on a response that is not HTTP. */
  push(input: Buffer): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    let buf: Buffer = this.pending.length ? Buffer.concat([this.pending, input]) : input;
    this.pending = Buffer.alloc(0);
    while (buf.length > 0 && this.state !== 'done') {
      if (this.state === 'trailer' && buf.length >= 2 && buf[0] === 0x0d && buf[1] === 0x0a) {
        // No trailer fields: the body ends with the CRLF after the last chunk's size line.
        this.finish(events);
      } else if (this.state === 'head' || this.state === 'size' || this.state === 'trailer') {
        const sep = this.state === 'size' ? '\r\n' : '\r\n\r\n';
        const at = buf.indexOf(sep);
        if (at === -1) {
          if (buf.length > MAX_HEAD) throw new Error('the response head is too long');
          this.pending = buf;
          return events;
        }
        const text = buf.subarray(0, at).toString('latin1');
        buf = buf.subarray(at + sep.length);
        if (this.state === 'head') this.onHead(text, events);
        else if (this.state === 'trailer') this.finish(events);
        else this.onSize(text);
      } else if (this.state === 'data') {
        const take = buf.subarray(0, this.need);
        this.parts.push(take);
        this.need -= take.length;
        buf = buf.subarray(take.length);
        if (this.need === 0) {
          events.push({ type: 'chunk', data: this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts) });
          this.parts = [];
          this.state = 'crlf';
        }
      } else if (this.state === 'crlf') {
        if (buf.length < 2) {
          this.pending = buf;
          return events;
        }
        if (buf[0] !== 0x0d || buf[1] !== 0x0a) throw new Error('a chunk is not followed by CRLF');
        buf = buf.subarray(2);
        this.state = 'size';
      } else {
        const take = buf.subarray(0, Math.min(buf.length, this.rawLeft));
        events.push({ type: 'chunk', data: take });
        this.rawLeft -= take.length;
        buf = buf.subarray(take.length);
        if (this.rawLeft === 0) this.finish(events);
      }
    }
    return events;
  }

  private onHead(text: string, events: ResponseEvent[]): void {
    const [statusLine = '', ...lines] = text.split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (!match) throw new Error(`not an HTTP response: ${JSON.stringify(statusLine.slice(0, 80))}`);
    const status = Number(match[1]);
    if (status >= 100 && status < 200) return; // 100 Continue and friends: the real head follows.
    const headers = new Map<string, string>();
    for (const line of lines) {
      const colon = line.indexOf(':');
      if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
    }
    events.push({ type: 'head', status, headers });
    if (/chunked/i.test(headers.get('transfer-encoding') ?? '')) this.state = 'size';
    else {
      const length = headers.get('content-length');
      this.rawLeft = length !== undefined && /^\d+$/.test(length) ? Number(length) : Infinity;
      this.state = 'raw';
      if (this.rawLeft === 0) this.finish(events);
    }
  }

  private onSize(text: string): void {
    const size = parseInt(text.split(';', 1)[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0 || size > MAX_CHUNK) throw new Error(`bad chunk size ${JSON.stringify(text.slice(0, 20))}`);
    if (size === 0) {
      this.state = 'trailer';
      return;
    }
    this.need = size;
    this.state = 'data';
  }

  private finish(events: ResponseEvent[]): void {
    this.state = 'done';
    events.push({ type: 'end' });
  }
}
