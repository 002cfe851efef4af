// Give a socket options Node offers only to sockets we create: net's `onread` (read into our own
// buffers instead of a fresh 64 KiB buffer per read, docs/notes/perf-stream.md). child_process
// pipes and sockets received over an IPC channel are made by Node without it, so their handle
// moves to a socket made with it. Must run in the tick the socket was made, before its first read.
import { Socket, type SocketConstructorOpts } from 'node:net';

interface StreamHandle {
  reading: boolean;
  readStop(): number;
  useUserBuffer?: unknown;
}

/**
 * A socket on `socket`'s handle made with `options`; the old socket is closed without touching
 * the handle. Returns undefined, leaving the socket as it is, if Node's handle is not as expected.
 */
export function rehome(socket: Socket, options: SocketConstructorOpts): Socket | undefined {
  const owner = socket as unknown as { _handle: StreamHandle | null };
  const handle = owner._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || typeof handle.readStop !== 'function') return undefined;
  handle.readStop();
  handle.reading = false;
  owner._handle = null;
  // Without its handle the old socket only closes (it never touches the pipe or connection again).
  socket.destroy();
  return new Socket({ ...options, handle } as SocketConstructorOpts);
}
