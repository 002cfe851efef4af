// -e/--env KEY=VALUE parsing: valid input round-trips, anything else is a UsageError (never another throw).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { parseKeyValues } from '../../src/lib/sprites.js';
import { UsageError } from '../../src/lib/errors.js';

const key = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,20}$/);

describe('parseKeyValues', () => {
  it('round-trips KEY=VALUE, values keeping "=", commas, spaces and unicode', () => {
    fc.assert(
      fc.property(fc.dictionary(key, fc.string()), (env) => {
        const items = Object.entries(env).map(([k, v]) => `${k}=${v}`);
        expect(parseKeyValues(items, '--env')).toEqual(env);
      }),
    );
    expect(parseKeyValues(['A=b=c,d', 'E=', 'F= x é'], '-e')).toEqual({ A: 'b=c,d', E: '', F: ' x é' });
  });

  it('the last of repeated keys wins', () => {
    expect(parseKeyValues(['A=1', 'A=2'], '--env')).toEqual({ A: '2' });
  });

  it('refuses items without a valid KEY= with a UsageError naming the flag and the item', () => {
    for (const bad of ['', '=x', 'NOEQUALS', '1A=x', 'A-B=x', ' A=x', 'A B=x']) {
      expect(() => parseKeyValues([bad], '--env'), bad).toThrow(UsageError);
    }
    expect(() => parseKeyValues(['oops'], '-e')).toThrow('-e "oops": expected KEY=VALUE');
  });

  it('never throws anything but a UsageError on arbitrary input (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ unit: 'binary' }), { maxLength: 6 }), (items) => {
        try {
          const out = parseKeyValues(items, '--env');
          for (const k of Object.keys(out)) expect(k).toMatch(/^[A-Za-z_][A-Za-z0-9_]*$/);
        } catch (err) {
          expect(err).toBeInstanceOf(UsageError);
        }
      }),
      { numRuns: 1000 },
    );
    expect(parseKeyValues(undefined, '--env')).toEqual({});
  });

  it('does not let a key named __proto__ or constructor change the result object', () => {
    const out = parseKeyValues(['__proto__=x', 'constructor=y'], '--env');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out).sort()).toEqual(['__proto__', 'constructor']);
  });
});
