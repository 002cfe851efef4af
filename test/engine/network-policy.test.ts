// The sandbox's name-based egress decisions (most specific rule wins, raw IPs blocked).
import { describe, expect, it } from 'vitest';
import { decide } from '../../src/engine/sandbox/network-policy.js';

const allowed = (rules: unknown[], host: string) => decide({ rules } as never, host).allowed;

describe('network policy decisions', () => {
  it('allows everything, raw IPs included, without rules', () => {
    expect(allowed([], 'example.com')).toBe(true);
    expect(allowed([], '10.0.0.1')).toBe(true);
  });

  it('lets an exact name beat a suffix and a suffix beat *', () => {
    const rules = [
      { domain: '*', action: 'deny' },
      { domain: '*.example.com', action: 'allow' },
      { domain: 'bad.example.com', action: 'deny' },
    ];
    expect(allowed(rules, 'api.example.com')).toBe(true);
    expect(allowed(rules, 'BAD.example.com.')).toBe(false);
    expect(allowed(rules, 'example.com')).toBe(false);
    expect(allowed(rules, 'other.org')).toBe(false);
  });

  it('prefers the longer suffix', () => {
    const rules = [
      { domain: '*.example.com', action: 'deny' },
      { domain: '*.eu.example.com', action: 'allow' },
    ];
    expect(allowed(rules, 'x.eu.example.com')).toBe(true);
    expect(allowed(rules, 'x.us.example.com')).toBe(false);
  });

  it('refuses unmatched names under an allow list, allows them under a deny list', () => {
    expect(allowed([{ domain: 'a.test', action: 'allow' }], 'b.test')).toBe(false);
    expect(allowed([{ domain: 'a.test', action: 'deny' }], 'b.test')).toBe(true);
  });

  it('blocks raw IPv4 and IPv6 addresses once a policy is set', () => {
    const rules = [{ domain: '*', action: 'allow' }];
    expect(allowed(rules, '127.0.0.1')).toBe(false);
    expect(allowed(rules, '[::1]')).toBe(false);
    expect(allowed(rules, 'localhost')).toBe(true);
  });

  it('ignores include-defaults entries when deciding', () => {
    expect(allowed([{ include: 'defaults' }], 'example.com')).toBe(true);
  });
});
