// A TCP connection that reads into slabs of up to 1 MiB (net's `onread`) instead of Node's fresh
// 64 KiB buffer per read. Each read lands right after the previous one in the current slab and is
// pushed as a view of it, with no copy; a new slab starts when less than MIN_READ_BYTES is left.
// Reads take up to what is left of the slab, so `ws` gets several whole messages at once and
// passes them on as views instead of joining a message from pieces. Node's per-read buffers are
// allocated outside V8's young generation, and their churn made V8 run a full mark-compact every
// few dozen MiB (docs/notes/perf-stream.md).
import net from 'node:net';
import type { ClientRequestArgs } from 'node:http';
import { YoungGcPacer } from '../protocol/young-gc.js';

/**
 * The first slab is small (a connection that carries little, e.g. one proxied HTTP request, does
 * not pay for a large one: docs/notes/perf-proxy.md); each next one is twice as large, up to
 * MAX_SLAB_BYTES.
 */
export const FIRST_SLAB_BYTES = 64 * 1024;
export const MAX_SLAB_BYTES = 1024 * 1024;
/** Below this much room left, the next read goes into a new slab. */
export const MIN_READ_BYTES = 64 * 1024;

/**
 * `createConnection` for `ws` (plain `ws:` URLs; TLS goes the default way). The socket behaves as
 * any net.Socket: pause() stops reading, and a consumer that stops taking data stops the reads.
 */
export function connectReadingIntoSlabs(options: ClientRequestArgs): net.Socket {
  let slab = Buffer.allocUnsafe(FIRST_SLAB_BYTES);
  let used = 0;
  const pacer = new YoungGcPacer();
  const socket: net.Socket = net.connect({
    ...(options as net.NetConnectOpts),
    // ws puts the request's URL path in `path`, which net would take for a unix socket (as ws does).
    path: options.socketPath,
    onread: {
      // Called for the first read and after each read: where the next one lands. A chunk handed
      // out is never written again (the slab only moves forward), so consumers may keep it.
      buffer: () => {
        if (slab.byteLength - used < MIN_READ_BYTES) {
          slab = Buffer.allocUnsafe(Math.min(slab.byteLength * 2, MAX_SLAB_BYTES));
          used = 0;
        }
        return slab.subarray(used);
      },
      // false (the consumer is full) stops reading until it asks for more (net restarts it in _read).
      callback: (bytes: number, into: Uint8Array) => {
        used += bytes;
        pacer.carried(bytes);
        return socket.push(Buffer.from(into.buffer, into.byteOffset, bytes));
      },
    },
  } as net.NetConnectOpts);
  return socket;
}
