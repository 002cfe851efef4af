// The proxy handshake messages (SPRITES-API.md §6).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { isProxyEof, joinHostPort, parseProxyConnected, parseProxyInit, unbracketHost } from '../../src/protocol/proxy.js';

describe('parseProxyInit', () => {
  it('accepts {host, port} with an empty or missing host meaning localhost', () => {
    expect(parseProxyInit('{"host":"localhost","port":5432}')).toEqual({ host: 'localhost', port: 5432 });
    expect(parseProxyInit('{"host":"","port":1}')).toEqual({ host: '', port: 1 });
    expect(parseProxyInit('{"port":65535}')).toEqual({ host: '', port: 65535 });
  });

  it.each(['', 'x', '[]', 'null', '5432', '{"host":"a"}', '{"port":0}', '{"port":65536}', '{"port":"80"}', '{"port":1.5}', '{"host":1,"port":80}'])(
    'refuses %j with a reason',
    (text) => {
      const r = parseProxyInit(text);
      expect('problem' in r && r.problem.length > 0).toBe(true);
    },
  );

  it('never throws', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => void parseProxyInit(text)));
  });
});

describe('other messages', () => {
  it('reads the connected answer and the eof message', () => {
    expect(parseProxyConnected('{"status":"connected","target":"localhost:80"}')).toEqual({ status: 'connected', target: 'localhost:80' });
    expect(parseProxyConnected('{"status":"error"}')).toBeNull();
    expect(parseProxyConnected('nope')).toBeNull();
    expect(isProxyEof('{"type":"eof"}')).toBe(true);
    expect(isProxyEof('{"type":"other"}')).toBe(false);
    expect(isProxyEof('null')).toBe(false);
  });

  it('brackets IPv6 hosts when joined with a port', () => {
    expect(joinHostPort('localhost', 80)).toBe('localhost:80');
    expect(joinHostPort('::1', 22)).toBe('[::1]:22');
    expect(joinHostPort('[::1]', 22)).toBe('[::1]:22');
    expect(unbracketHost('[fe80::1]')).toBe('fe80::1');
  });
});
