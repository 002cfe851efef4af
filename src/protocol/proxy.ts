// The TCP proxy handshake (SPRITES-API.md §6), shared by the client and the engine.

/** Close codes of the proxy socket. */
export const PROXY_CLOSE_NORMAL = 1000;
export const PROXY_CLOSE_GOING_AWAY = 1001;
/** The init message or its port was invalid. */
export const PROXY_CLOSE_BAD_INIT = 1003;
/** The target could not be dialled (the reason says why). */
export const PROXY_CLOSE_DIAL_FAILED = 1011;

/** The client's first (text) message. */
export interface ProxyInit {
  host: string;
  port: number;
}

/** The server's answer once the target is connected. */
export interface ProxyConnected {
  status: 'connected';
  target: string;
}

/**
 * Half-close, sent as a text message after the handshake by either side when its TCP peer has
 * finished sending. Peers that follow only §6 ignore text messages after the handshake, so this
 * extension is harmless to them; it lets `echo req | sprites proxy -W` still read the answer.
 */
export const PROXY_EOF_MESSAGE = '{"type":"eof"}';

/**
 * Request header by which a client says it understands the eof message. Only such clients get one
 * from the engine; to any other (a §6 client such as the official SDK, which ignores text after
 * the handshake) the target finishing is a close 1000, or it would wait for an end that never comes.
 */
export const PROXY_HALF_CLOSE_HEADER = 'sprites-proxy-half-close';
export const PROXY_HALF_CLOSE_EOF = 'eof';

export function isProxyEof(text: string): boolean {
  try {
    const msg = JSON.parse(text) as { type?: unknown };
    return typeof msg === 'object' && msg !== null && msg.type === 'eof';
  } catch {
    return false;
  }
}

export function isValidPort(port: unknown): port is number {
  return typeof port === 'number' && Number.isInteger(port) && port >= 1 && port <= 65535;
}

/** Parse the init message; returns the reason when it is not valid. */
export function parseProxyInit(text: string): ProxyInit | { problem: string } {
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    return { problem: 'the init message is not JSON' };
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg)) return { problem: 'the init message must be a JSON object' };
  const { host, port } = msg as Record<string, unknown>;
  if (host !== undefined && host !== null && typeof host !== 'string') return { problem: 'host must be a string' };
  if (!isValidPort(port)) return { problem: 'port must be an integer from 1 to 65535' };
  return { host: typeof host === 'string' ? host : '', port };
}

export function parseProxyConnected(text: string): ProxyConnected | null {
  try {
    const msg = JSON.parse(text) as Partial<ProxyConnected>;
    if (typeof msg === 'object' && msg !== null && msg.status === 'connected') {
      return { status: 'connected', target: typeof msg.target === 'string' ? msg.target : '' };
    }
  } catch {
    // Not JSON: not the connected message.
  }
  return null;
}

/** A host without IPv6 brackets. */
export function unbracketHost(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** host:port, with an IPv6 host in brackets. */
export function joinHostPort(host: string, port: number): string {
  const bare = unbracketHost(host);
  return bare.includes(':') ? `[${bare}]:${port}` : `${bare}:${port}`;
}
