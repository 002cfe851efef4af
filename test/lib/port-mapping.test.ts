// Port mappings and -W targets: valid input parses exactly, anything else is a UsageError (never another throw).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parsePortMapping, parsePortMappings, parseStdioTarget } from '../../src/lib/port-mapping.js';
import { UsageError } from '../../src/lib/errors.js';
import { joinHostPort } from '../../src/protocol/proxy.js';

const port = fc.integer({ min: 1, max: 65535 });

/** Runs f; the only acceptable failure is a UsageError. */
function total<T>(f: () => T): T | UsageError {
  try {
    return f();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
}

describe('parsePortMapping', () => {
  it('parses PORT, LOCAL:REMOTE and 0:REMOTE', () => {
    fc.assert(
      fc.property(port, port, (a, b) => {
        expect(parsePortMapping(String(a))).toEqual({ local: a, remote: a });
        expect(parsePortMapping(`${a}:${b}`)).toEqual({ local: a, remote: b });
        expect(parsePortMapping(`0:${b}`)).toEqual({ local: 0, remote: b });
      }),
    );
  });

  it.each(['', '0', ':', '8080:', ':8080', '8080:0', '65536', '1:65536', '-1', '+80', ' 80', '80 ', '0x50', '1e3', '8.0', '1:2:3', 'a:b', '123456'])(
    'refuses %j with a UsageError naming it',
    (spec) => {
      expect(() => parsePortMapping(spec)).toThrow(UsageError);
      expect(() => parsePortMapping(spec)).toThrow(JSON.stringify(spec));
    },
  );

  it('never throws anything but a UsageError, and what it accepts is in range', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9:]{0,12}$/)), (spec) => {
        const r = total(() => parsePortMapping(spec));
        if (r instanceof UsageError) return;
        expect(r.remote).toBeGreaterThanOrEqual(1);
        expect(r.remote).toBeLessThanOrEqual(65535);
        expect(r.local).toBeGreaterThanOrEqual(0);
        expect(r.local).toBeLessThanOrEqual(65535);
      }),
    );
  });
});

describe('parsePortMappings', () => {
  it('refuses none and the same local port twice, allows 0 twice', () => {
    expect(() => parsePortMappings([])).toThrow(/missing port mapping/);
    expect(() => parsePortMappings(['8080', '8080:9000'])).toThrow(/local port 8080 is mapped twice/);
    expect(parsePortMappings(['0:1', '0:2', '3'])).toEqual([
      { local: 0, remote: 1 },
      { local: 0, remote: 2 },
      { local: 3, remote: 3 },
    ]);
  });
});

describe('parseStdioTarget', () => {
  it('parses PORT, HOST:PORT and [IPV6]:PORT', () => {
    fc.assert(
      fc.property(port, fc.constantFrom('localhost', '127.0.0.1', 'db.internal', '::1', 'fe80::1'), (p, host) => {
        expect(parseStdioTarget(String(p))).toEqual({ host: '', port: p });
        expect(parseStdioTarget(joinHostPort(host, p))).toEqual({ host, port: p });
      }),
    );
  });

  it.each(['', '0', ':22', 'host:', 'fe80::1:22', '[]:22', '[::1]', 'a b:22', 'user@host:22', 'host:65536'])('refuses %j', (spec) => {
    expect(() => parseStdioTarget(spec)).toThrow(UsageError);
  });

  it('never throws anything but a UsageError', () => {
    fc.assert(fc.property(fc.string(), (spec) => void total(() => parseStdioTarget(spec))));
  });
});
