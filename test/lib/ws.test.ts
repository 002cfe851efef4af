// Client WebSockets: frames go unmasked (zero mask) only to the local engine on a loopback address.
import { afterEach, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { ApiClient, type ApiTarget } from '../../src/lib/api.js';
import { maskingUnneeded, openWebSocket } from '../../src/lib/ws.js';

const target = (isLocal: boolean, baseUrl = 'http://127.0.0.1:1'): ApiTarget => ({ baseUrl, token: 't0ken-for-tests', tokenSource: 'test', isLocal });

describe('maskingUnneeded', () => {
  it('is true only for the local engine on a loopback host', () => {
    for (const url of ['ws://127.0.0.1:5000/v1/x', 'ws://127.8.9.1/v1/x', 'ws://[::1]:5000/v1/x', 'ws://localhost:5000/v1/x']) {
      expect(maskingUnneeded(target(true), url)).toBe(true);
      expect(maskingUnneeded(target(false), url)).toBe(false);
    }
    for (const url of ['ws://10.0.0.1:5000/v1/x', 'wss://api.sprites.dev/v1/x', 'ws://127.0.0.1.example.com/v1/x', 'ws://[::2]/v1/x', 'not a url']) {
      expect(maskingUnneeded(target(true), url)).toBe(false);
    }
  });
});

// A bare TCP server that completes the WebSocket handshake and hands over the first frame's mask key.
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

async function firstMaskKey(isLocal: boolean): Promise<Buffer> {
  let resolveKey!: (key: Buffer) => void;
  const key = new Promise<Buffer>((resolve) => (resolveKey = resolve));
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    let buf = Buffer.alloc(0);
    let upgraded = false;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        buf = buf.subarray(end + 4);
        const wsKey = /sec-websocket-key: *(\S+)/i.exec(head)![1];
        const accept = createHash('sha1').update(wsKey + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
        socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
        upgraded = true;
      }
      // A short client frame: 2 header bytes (mask bit set), then the 4-byte mask key.
      if (buf.length >= 6) {
        expect(buf[1]! & 0x80).toBe(0x80);
        resolveKey(Buffer.from(buf.subarray(2, 6)));
      }
    });
  });
  servers.push(server);
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const api = new ApiClient(target(isLocal, `http://127.0.0.1:${port}`));
  const ws = openWebSocket(api, api.wsUrl('/v1/test'));
  ws.on('error', () => {});
  ws.once('open', () => ws.send('hello'));
  try {
    return await key;
  } finally {
    ws.terminate();
  }
}

describe('openWebSocket', () => {
  it('sends a zero mask to the local engine on loopback', async () => {
    expect(await firstMaskKey(true)).toEqual(Buffer.alloc(4));
  });

  it('masks frames to any other target', async () => {
    const keys = [await firstMaskKey(false), await firstMaskKey(false)];
    // A random key is all zeros with probability 2^-32; two in a row never.
    expect(keys.some((k) => !k.equals(Buffer.alloc(4)))).toBe(true);
  });
});
