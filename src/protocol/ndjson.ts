// Incremental NDJSON: lines may be split anywhere across chunks, including inside a UTF-8 sequence.

export type NdjsonItem =
  | { ok: true; value: unknown }
  | { ok: false; line: string; error: string };

export interface NdjsonParserOptions {
  /** Longest line kept in memory, in bytes. A longer line is reported as an error and skipped. */
  maxLineBytes?: number;
}

const NEWLINE = 0x0a;
const DEFAULT_MAX_LINE = 16 * 1024 * 1024;

/**
 * Feed chunks with push(); each complete line comes back parsed. Blank lines are skipped, CRLF is
 * accepted, a malformed line is reported as an item with ok:false and parsing goes on. Call end()
 * for a final line that has no newline.
 */
export class NdjsonParser {
  private parts: Uint8Array[] = [];
  private size = 0;
  private skipping = false;
  private readonly maxLineBytes: number;
  private readonly decoder = new TextDecoder('utf-8');

  constructor(options: NdjsonParserOptions = {}) {
    this.maxLineBytes = options.maxLineBytes ?? DEFAULT_MAX_LINE;
  }

  push(chunk: Uint8Array | string): NdjsonItem[] {
    const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
    const items: NdjsonItem[] = [];
    let start = 0;
    for (;;) {
      const nl = bytes.indexOf(NEWLINE, start);
      if (nl === -1) break;
      this.append(bytes.subarray(start, nl));
      this.flushLine(items);
      start = nl + 1;
    }
    if (start < bytes.byteLength) this.append(bytes.subarray(start));
    return items;
  }

  end(): NdjsonItem[] {
    const items: NdjsonItem[] = [];
    if (this.size > 0 || this.skipping) this.flushLine(items);
    return items;
  }

  private append(part: Uint8Array): void {
    if (this.skipping || part.byteLength === 0) return;
    if (this.size + part.byteLength > this.maxLineBytes) {
      this.parts = [];
      this.size = 0;
      this.skipping = true;
      return;
    }
    // Copy: the caller may reuse its buffer.
    this.parts.push(part.slice());
    this.size += part.byteLength;
  }

  private flushLine(items: NdjsonItem[]): void {
    if (this.skipping) {
      this.skipping = false;
      items.push({ ok: false, line: '', error: `line longer than ${this.maxLineBytes} bytes skipped` });
      return;
    }
    const buf = concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    let text = this.decoder.decode(buf);
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (text.trim() === '') return;
    try {
      items.push({ ok: true, value: JSON.parse(text) });
    } catch (err) {
      items.push({ ok: false, line: text, error: (err as Error).message });
    }
  }
}

function concat(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** One value as one NDJSON line, newline included. */
export function ndjsonLine(value: unknown): string {
  return JSON.stringify(value) + '\n';
}
