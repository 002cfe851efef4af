// Where a socket's reads land when it reads into slabs (net's `onread`) instead of Node's fresh
// 64 KiB buffer per read: each read right after the previous one in the current slab, handed on
// as a view that is never written again (so consumers may keep it). Reads take up to what is left
// of the slab, so a busy stream is read in large pieces (fewer, larger messages downstream), and
// no buffer is allocated per read, whose churn costs full GCs (docs/notes/perf-stream.md).
// In protocol/ because the CLI's and the engine's sockets both use it; it does no I/O.
import { YoungGcPacer } from './young-gc.js';

/**
 * The first slab is small (a connection that carries little, e.g. one proxied HTTP request, does
 * not pay for a large one: docs/notes/perf-proxy.md); each next one is twice as large, up to
 * MAX_SLAB_BYTES.
 */
export const FIRST_SLAB_BYTES = 64 * 1024;
export const MAX_SLAB_BYTES = 1024 * 1024;
/** Below this much room left, the next read goes into a new slab. */
export const MIN_READ_BYTES = 64 * 1024;

export class ReadSlabs {
  private slab = Buffer.allocUnsafe(FIRST_SLAB_BYTES);
  private used = 0;

  /** Where the next read lands (net's `onread.buffer`). */
  next(): Buffer {
    if (this.slab.byteLength - this.used < MIN_READ_BYTES) {
      this.slab = Buffer.allocUnsafe(Math.min(this.slab.byteLength * 2, MAX_SLAB_BYTES));
      this.used = 0;
    }
    return this.slab.subarray(this.used);
  }

  /** The `bytes` just read into `into` (what next() returned), as a view of their own. */
  took(bytes: number, into: Uint8Array): Buffer {
    this.used += bytes;
    return Buffer.from(into.buffer, into.byteOffset, bytes);
  }
}

/**
 * net's `onread` option reading into slabs: `push` takes each chunk (a socket's own push(), so the
 * stream works as usual) and says whether to go on; false stops reading until the consumer asks
 * for more (net restarts it in _read). Every read is counted by a YoungGcPacer.
 */
export function slabReads(push: (chunk: Buffer) => boolean): { buffer: () => Buffer; callback: (bytes: number, into: Uint8Array) => boolean } {
  const slabs = new ReadSlabs();
  const pacer = new YoungGcPacer();
  return {
    buffer: () => slabs.next(),
    callback: (bytes, into) => {
      pacer.carried(bytes);
      return push(slabs.took(bytes, into));
    },
  };
}
