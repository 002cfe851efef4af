import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseClientControl, parseServerControl } from '../../src/protocol/messages.js';

describe('parseServerControl', () => {
  it('accepts session_info with a numeric or a string session_id, giving a string', () => {
    const base = { type: 'session_info', command: 'bash', created: 1700000000, is_owner: true, tty: false };
    expect(parseServerControl(JSON.stringify({ ...base, session_id: 1234 }))).toMatchObject({ type: 'session_info', session_id: '1234' });
    expect(parseServerControl(JSON.stringify({ ...base, session_id: '1234' }))).toMatchObject({ type: 'session_info', session_id: '1234' });
    expect(parseServerControl(JSON.stringify({ ...base }))).toBeNull();
    expect(parseServerControl(JSON.stringify({ ...base, session_id: null }))).toBeNull();
  });

  it('parses exit and port messages', () => {
    expect(parseServerControl('{"type":"exit","exit_code":3}')).toEqual({ type: 'exit', exit_code: 3 });
    expect(parseServerControl('{"type":"exit"}')).toBeNull();
    expect(parseServerControl('{"type":"exit","exit_code":"3"}')).toBeNull();
    expect(parseServerControl('{"type":"port_opened","port":8080,"address":"0.0.0.0","pid":7}')).toMatchObject({ type: 'port_opened', port: 8080 });
    expect(parseServerControl('{"type":"port_closed","port":8080,"address":"0.0.0.0","pid":7}')).toMatchObject({ type: 'port_closed' });
  });

  it('gives null for unknown types and anything that is not a message object', () => {
    for (const text of ['{"type":"hello"}', '{}', '[]', '[{"type":"exit","exit_code":0}]', 'null', '42', '"exit"', 'not json', '']) {
      expect(parseServerControl(text), text).toBeNull();
    }
  });

  it('never throws on arbitrary text (fuzz)', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => void parseServerControl(text)), { numRuns: 500 });
  });
});

describe('parseClientControl', () => {
  it('parses resize with positive integer dimensions only', () => {
    expect(parseClientControl('{"type":"resize","cols":120,"rows":40}')).toEqual({ type: 'resize', cols: 120, rows: 40 });
    for (const bad of ['{"type":"resize","cols":0,"rows":40}', '{"type":"resize","cols":1.5,"rows":40}', '{"type":"resize","cols":"80","rows":24}', '{"type":"resize","cols":80}']) {
      expect(parseClientControl(bad), bad).toBeNull();
    }
  });

  it('parses signal names with or without SIG, in any case', () => {
    expect(parseClientControl('{"type":"signal","signal":"TERM"}')).toEqual({ type: 'signal', signal: 'TERM' });
    expect(parseClientControl('{"type":"signal","signal":"SIGINT"}')).toEqual({ type: 'signal', signal: 'INT' });
    expect(parseClientControl('{"type":"signal","signal":"usr1"}')).toEqual({ type: 'signal', signal: 'USR1' });
    expect(parseClientControl('{"type":"signal","signal":"BOGUS"}')).toBeNull();
    expect(parseClientControl('{"type":"signal","signal":9}')).toBeNull();
  });

  it('gives null for unknown types and non-objects', () => {
    for (const text of ['{"type":"exit","exit_code":0}', '{"type":"nope"}', 'null', '[]', 'x']) {
      expect(parseClientControl(text), text).toBeNull();
    }
  });

  it('never throws on arbitrary text (fuzz)', () => {
    fc.assert(fc.property(fc.oneof(fc.string(), fc.json()), (text) => void parseClientControl(text)), { numRuns: 500 });
  });
});
