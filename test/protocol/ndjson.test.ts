import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { NdjsonParser, ndjsonLine, type NdjsonItem } from '../../src/protocol/ndjson.js';

const enc = new TextEncoder();

/** Split bytes at the given cut points (any positions, including inside a UTF-8 sequence). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

function parseAll(chunks: Array<Uint8Array | string>, parser = new NdjsonParser()): NdjsonItem[] {
  const items: NdjsonItem[] = [];
  for (const c of chunks) items.push(...parser.push(c));
  items.push(...parser.end());
  return items;
}

// JSON values with plenty of multi-byte text (2-, 3- and 4-byte UTF-8 sequences).
const text = fc.string({ unit: fc.constantFrom('a', 'é', '€', '😀', '"', '\\', ' ', '\u2028', 'z', '\n', '\r') });
const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(text, tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('NDJSON parser', () => {
  it('gives the same values whatever the chunking (splits inside UTF-8, CRLF, blank lines, no final newline)', () => {
    fc.assert(
      fc.property(
        fc.array(jsonValue, { maxLength: 8 }),
        fc.array(fc.constantFrom('\n', '\r\n'), { minLength: 8, maxLength: 8 }),
        fc.array(fc.constantFrom('', '\n', '\r\n', '  \n', '\t\r\n'), { minLength: 8, maxLength: 8 }),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 20 }),
        (values, endings, blanks, finalNewline, cuts) => {
          let stream = '';
          values.forEach((v, i) => {
            stream += blanks[i] + JSON.stringify(v);
            if (i < values.length - 1 || finalNewline) stream += endings[i];
          });
          const items = parseAll(chunk(enc.encode(stream), cuts));
          expect(items).toEqual(values.map((value) => ({ ok: true, value })));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('gives the same values when fed one byte at a time', () => {
    const values = [{ a: 'é€😀' }, [1, 2, 3], 'x', null];
    const bytes = enc.encode(values.map((v) => JSON.stringify(v)).join('\r\n'));
    const items = parseAll([...bytes].map((b) => Uint8Array.of(b)));
    expect(items.map((i) => (i.ok ? i.value : i))).toEqual(values);
  });

  it('accepts string chunks too', () => {
    expect(parseAll(['{"a":', '1}\n{"b"', ':2}'])).toEqual([
      { ok: true, value: { a: 1 } },
      { ok: true, value: { b: 2 } },
    ]);
  });

  it('reports a malformed line and goes on parsing', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 10 }), (cuts) => {
        const items = parseAll(chunk(enc.encode('{"a":1}\n{not json}\n{"b":2}\n'), cuts));
        expect(items).toHaveLength(3);
        expect(items[0]).toEqual({ ok: true, value: { a: 1 } });
        expect(items[1]).toMatchObject({ ok: false, line: '{not json}' });
        expect((items[1] as { error: string }).error).not.toBe('');
        expect(items[2]).toEqual({ ok: true, value: { b: 2 } });
      }),
    );
  });

  it('returns a final line without a newline only on end()', () => {
    const p = new NdjsonParser();
    expect(p.push('{"a":1}\n{"b":')).toEqual([{ ok: true, value: { a: 1 } }]);
    expect(p.push('2}')).toEqual([]);
    expect(p.end()).toEqual([{ ok: true, value: { b: 2 } }]);
    expect(p.end()).toEqual([]);
  });

  it('skips an over-long line without keeping it, reports it, and parses the next', () => {
    const max = 1024;
    const p = new NdjsonParser({ maxLineBytes: max });
    const items: NdjsonItem[] = [];
    items.push(...p.push('{"first":1}\n'));
    // 100 × 1 KiB chunks of one line: far more than the limit.
    const junk = enc.encode('x'.repeat(1024));
    items.push(...p.push('{"big":"'));
    for (let i = 0; i < 100; i++) {
      items.push(...p.push(junk));
      // Bounded memory: the parser holds at most maxLineBytes of a line at any time.
      expect((p as unknown as { size: number }).size).toBeLessThanOrEqual(max);
    }
    items.push(...p.push('"}\n{"after":2}\n'));
    expect(items).toHaveLength(3);
    expect(items[0]).toEqual({ ok: true, value: { first: 1 } });
    expect(items[1]).toMatchObject({ ok: false });
    expect((items[1] as { error: string }).error).toMatch(/longer than 1024 bytes/);
    expect(items[2]).toEqual({ ok: true, value: { after: 2 } });
  });

  it('reports an over-long final line on end()', () => {
    const p = new NdjsonParser({ maxLineBytes: 8 });
    expect(p.push('"0123456789"')).toEqual([]);
    expect(p.end()).toEqual([expect.objectContaining({ ok: false })]);
  });

  it('keeps a line of exactly the limit', () => {
    const p = new NdjsonParser({ maxLineBytes: 5 });
    expect(parseAll(['"abc"', '\n'], p)).toEqual([{ ok: true, value: 'abc' }]);
  });

  it('does not keep a reference to a caller buffer it may reuse', () => {
    const p = new NdjsonParser();
    const buf = enc.encode('{"a":');
    p.push(buf);
    buf.fill(0x20);
    expect(p.push('1}\n')).toEqual([{ ok: true, value: { a: 1 } }]);
  });

  it('never throws on arbitrary bytes, whatever the chunking (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 10 }), fc.integer({ min: 1, max: 64 }), (chunks, max) => {
        const p = new NdjsonParser({ maxLineBytes: max });
        let lines = 0;
        for (const c of chunks) lines += p.push(c).length;
        lines += p.end().length;
        const newlines = chunks.reduce((n, c) => n + c.filter((b) => b === 0x0a).length, 0);
        expect(lines).toBeLessThanOrEqual(newlines + 1);
      }),
      { numRuns: 500 },
    );
  });

  it('writes one value per line', () => {
    expect(ndjsonLine({ a: 'x\ny' })).toBe('{"a":"x\\ny"}\n');
  });
});
