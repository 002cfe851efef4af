// A bounded ring of a session's output, replayed on attach. Offsets count every output byte the
// session ever produced (stdout and stderr in the order they came), so a client that reconnects
// can tell which replayed bytes it has already shown.

export interface OutputChunk {
  /** 1 stdout (or the terminal), 2 stderr. */
  stream: 1 | 2;
  data: Buffer;
  /**
   * `data` with one spare byte in front, in the same memory, when the session allocated it so:
   * a §2 frame can be made in place by writing the stream id there (frames.ts frameInPlace).
   */
  withRoom?: Buffer;
}

export class Scrollback {
  private chunks: OutputChunk[] = [];
  private head = 0;
  private size = 0;
  /** Offset of the first byte still held. */
  private startOffset = 0;

  constructor(readonly capacity: number) {}

  /** Offset just past the last byte produced. */
  get endOffset(): number {
    return this.startOffset + this.size;
  }

  get start(): number {
    return this.startOffset;
  }

  push(chunk: OutputChunk): void {
    if (chunk.data.byteLength === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.data.byteLength;
    while (this.size > this.capacity) {
      const first = this.chunks[this.head]!;
      const excess = this.size - this.capacity;
      if (first.data.byteLength <= excess) {
        this.head++;
        this.size -= first.data.byteLength;
        this.startOffset += first.data.byteLength;
      } else {
        this.chunks[this.head] = { stream: first.stream, data: first.data.subarray(excess) };
        this.size -= excess;
        this.startOffset += excess;
      }
    }
    // Compact now and then so the array does not grow without bound.
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }

  /** The held chunks, oldest first. */
  contents(): OutputChunk[] {
    return this.chunks.slice(this.head);
  }
}
