// TCP sockets of the CLI that read into slabs (protocol/read-slabs.ts) instead of Node's fresh
// 64 KiB buffer per read: the exec and proxy WebSockets (`ws` then mostly finds whole messages in
// one read and passes them on as views instead of joining pieces) and the proxy's accepted local
// connections (read in large pieces, so each becomes one large message instead of many 64 KiB
// ones). Every read is counted by a YoungGcPacer (protocol/young-gc.ts).
import net from 'node:net';
import type { ClientRequestArgs } from 'node:http';
import { slabReads } from '../protocol/read-slabs.js';

/**
 * `createConnection` for `ws` (plain `ws:` URLs; TLS goes the default way). The socket behaves as
 * any net.Socket: pause() stops reading, and a consumer that stops taking data stops the reads.
 */
export function connectReadingIntoSlabs(options: ClientRequestArgs): net.Socket {
  const socket: net.Socket = net.connect({
    ...(options as net.NetConnectOpts),
    // ws puts the request's URL path in `path`, which net would take for a unix socket (as ws does).
    path: options.socketPath,
    onread: slabReads((chunk) => socket.push(chunk)),
  } as net.NetConnectOpts);
  return socket;
}

interface AcceptedSocket {
  _handle: { reading: boolean; readStop(): number; useUserBuffer?: unknown } | null;
  _server: net.Server | null;
  server?: net.Server;
}

/**
 * The same for a connection a server just accepted with `pauseOnConnect` (nothing read yet): net
 * servers have no `onread` option, so the connection's handle moves to a socket made with one.
 * The new socket counts as the server's connection in place of the old one. Returns the socket
 * as it is where Node's handle is not as expected.
 */
export function acceptReadingIntoSlabs(socket: net.Socket): net.Socket {
  const old = socket as unknown as AcceptedSocket;
  const handle = old._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || typeof handle.readStop !== 'function' || socket.readableFlowing !== false) return socket;
  handle.readStop();
  handle.reading = false;
  const server = old._server;
  old._server = null;
  old._handle = null;
  // Without its handle and server the old socket only closes (it never touches the connection).
  socket.destroy();
  const adopted: net.Socket = new net.Socket({
    handle,
    allowHalfOpen: socket.allowHalfOpen,
    readable: true,
    writable: true,
    // Node's own option for accepted connections: do not start reading.
    pauseOnCreate: true,
    onread: slabReads((chunk) => adopted.push(chunk)),
  } as net.SocketConstructorOpts);
  // Nothing is read until the tunnel resumes it, as with pauseOnConnect.
  adopted.pause();
  const owner = adopted as unknown as AcceptedSocket;
  owner._server = server;
  if (server) owner.server = server;
  return adopted;
}
