// The shared policy validator: every rule, with a bad document for each, and arbitrary input.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  domainPatternProblem,
  validateNetworkPolicy,
  validatePrivilegesPolicy,
  validateResourcesPolicy,
} from '../../src/protocol/policy.js';

function problems(doc: unknown): string[] {
  const r = validateNetworkPolicy(doc);
  return r.ok ? [] : r.problems;
}

describe('network policy', () => {
  it('accepts allow, deny and include rules, and an empty rule set', () => {
    const doc = {
      rules: [
        { domain: 'github.com', action: 'allow' },
        { domain: '*.npmjs.org', action: 'allow' },
        { include: 'defaults' },
        { domain: '*', action: 'deny' },
      ],
    };
    expect(validateNetworkPolicy(doc)).toEqual({ ok: true, value: doc });
    expect(validateNetworkPolicy({ rules: [] })).toEqual({ ok: true, value: { rules: [] } });
  });

  it.each([
    ['not an object', [], /must be a JSON object/],
    ['rules missing', {}, /"rules" is required/],
    ['rules not an array', { rules: {} }, /"rules" must be an array/],
    ['unknown top-level key', { rules: [], extra: 1 }, /unknown key "extra"/],
    ['rule not an object', { rules: ['github.com'] }, /rules\[0\]: must be an object/],
    ['unknown key in a rule', { rules: [{ domain: 'a.com', action: 'allow', port: 443 }] }, /rules\[0\]: unknown key "port"/],
    ['domain without action', { rules: [{ domain: 'a.com' }] }, /rules\[0\]: "action" is required/],
    ['action without domain', { rules: [{ action: 'allow' }] }, /rules\[0\]: "domain" is required/],
    ['bad action', { rules: [{ domain: 'a.com', action: 'block' }] }, /rules\[0\]: action must be "allow" or "deny"/],
    ['include mixed with domain', { rules: [{ include: 'defaults', domain: 'a.com', action: 'allow' }] }, /rules\[0\]: an include rule holds only "include"/],
    ['include of something else', { rules: [{ include: 'all' }] }, /rules\[0\]: include must be "defaults"/],
    ['domain not a string', { rules: [{ domain: 5, action: 'allow' }] }, /rules\[0\]: domain must be a string/],
    ['wildcard in the middle', { rules: [{ domain: 'a.*.com', action: 'allow' }] }, /rules\[0\]: .*wildcard that is not a leading/],
    ['partial wildcard', { rules: [{ domain: '*foo.com', action: 'allow' }] }, /rules\[0\]: .*wildcard that is not a leading/],
    ['trailing wildcard', { rules: [{ domain: 'example.*', action: 'allow' }] }, /rules\[0\]: .*wildcard/],
    ['a URL', { rules: [{ domain: 'https://a.com/', action: 'allow' }] }, /rules\[0\]: .*not a DNS name/],
    ['empty domain', { rules: [{ domain: '', action: 'allow' }] }, /rules\[0\]: domain is empty/],
    ['bare "*."', { rules: [{ domain: '*.', action: 'allow' }] }, /rules\[0\]: .*empty after/],
    ['an IP address', { rules: [{ domain: '10.0.0.1', action: 'allow' }] }, /rules\[0\]: .*IP address/],
    ['a trailing dot', { rules: [{ domain: 'a.com.', action: 'allow' }] }, /rules\[0\]: .*not a DNS name/],
    ['a label starting with a hyphen', { rules: [{ domain: '-a.com', action: 'allow' }] }, /rules\[0\]: .*not a DNS name/],
  ])('refuses %s, naming the rule and the problem', (_name, doc, pattern) => {
    const found = problems(doc);
    expect(found.length).toBeGreaterThan(0);
    expect(found.join('\n')).toMatch(pattern);
  });

  it('names the index of the bad rule among good ones, and reports every problem', () => {
    const found = problems({ rules: [{ domain: 'a.com', action: 'allow' }, { domain: 'b.com', action: 'allow' }, { domain: 'x y', action: 'nope' }] });
    expect(found).toHaveLength(2);
    expect(found.every((p) => p.startsWith('rules[2]: '))).toBe(true);
  });

  it('drops nothing and adds nothing to a valid document', () => {
    expect(domainPatternProblem('*')).toBeNull();
    expect(domainPatternProblem('localhost')).toBeNull();
    expect(domainPatternProblem('*.co.uk')).toBeNull();
    expect(domainPatternProblem('a'.repeat(64) + '.com')).not.toBeNull();
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (doc) => {
        const r = validateNetworkPolicy(doc);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.record({ domain: fc.string(), action: fc.constantFrom('allow', 'deny', 'x') }), fc.anything())), (rules) => {
        const r = validateNetworkPolicy({ rules });
        if (r.ok) expect(r.value.rules).toHaveLength(rules.length);
        else expect(r.problems.every((p) => /^rules\[\d+\]: /.test(p))).toBe(true);
      }),
    );
  });
});

describe('privileges and resources policies', () => {
  it('accepts the documented shapes', () => {
    const priv = { profile: 'minimal', devices: ['/dev/fuse'], no_new_privileges: true };
    expect(validatePrivilegesPolicy(priv)).toEqual({ ok: true, value: priv });
    expect(validatePrivilegesPolicy({ profile: '' })).toEqual({ ok: true, value: { profile: '' } });
    const res = { memory: { limit_mb: 2048, autoscale: true } };
    expect(validateResourcesPolicy(res)).toEqual({ ok: true, value: res });
    expect(validateResourcesPolicy({})).toEqual({ ok: true, value: {} });
  });

  it.each([
    [{ profile: 'root' }, /profile must be one of/],
    [{ devices: '/dev/fuse' }, /devices must be an array/],
    [{ devices: ['/dev/../etc/passwd'] }, /devices\[0\]: .*not a path under \/dev/],
    [{ devices: ['/etc/passwd'] }, /devices\[0\]/],
    [{ no_new_privileges: 'yes' }, /no_new_privileges must be true or false/],
    [{ caps: [] }, /unknown key "caps"/],
  ])('refuses privileges %j', (doc, pattern) => {
    const r = validatePrivilegesPolicy(doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toMatch(pattern);
  });

  it.each([
    [{ memory: 512 }, /memory must be an object/],
    [{ memory: {} }, /memory.limit_mb is required/],
    [{ memory: { limit_mb: 0 } }, /memory.limit_mb must be a whole number/],
    [{ memory: { limit_mb: 1.5 } }, /memory.limit_mb must be a whole number/],
    [{ memory: { limit_mb: 10, autoscale: 'on' } }, /autoscale must be true or false/],
    [{ memory: { limit_mb: 10, swap: 1 } }, /memory: unknown key "swap"/],
    [{ cpu: 2 }, /unknown key "cpu"/],
  ])('refuses resources %j', (doc, pattern) => {
    const r = validateResourcesPolicy(doc);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.problems.join('\n')).toMatch(pattern);
  });

  it('never throws on arbitrary input', () => {
    fc.assert(fc.property(fc.anything(), (doc) => void validatePrivilegesPolicy(doc)));
    fc.assert(fc.property(fc.anything(), (doc) => void validateResourcesPolicy(doc)));
    fc.assert(fc.property(fc.record({ memory: fc.anything() }), (doc) => void validateResourcesPolicy(doc)));
  });
});
