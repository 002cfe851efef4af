// Detach keys: spec parsing and the matcher over chunks, including sequences split across reads.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { DetachKeyMatcher, parseDetachKeys } from '../../src/lib/tty.js';

describe('parseDetachKeys', () => {
  it('reads docker-style specs', () => {
    expect(parseDetachKeys('ctrl-\\')).toEqual(Buffer.from([0x1c]));
    expect(parseDetachKeys('ctrl-p,ctrl-q')).toEqual(Buffer.from([0x10, 0x11]));
    expect(parseDetachKeys('ctrl-@,ctrl-[,ctrl-_')).toEqual(Buffer.from([0x00, 0x1b, 0x1f]));
    expect(parseDetachKeys('ctrl-a,x')).toEqual(Buffer.from([0x01, 0x78]));
  });

  it('refuses what it cannot read', () => {
    for (const bad of ['', 'ctrl-', 'ctrl-1', 'alt-x', 'ctrl-p,,ctrl-q', 'xy']) expect(parseDetachKeys(bad)).toBeNull();
  });
});

/** Feed chunks; return what was forwarded up to (and whether there was) a detach. */
function run(seq: Buffer, chunks: Buffer[]): { forwarded: Buffer; detached: boolean } {
  const m = new DetachKeyMatcher(seq);
  const out: Buffer[] = [];
  for (const c of chunks) {
    const r = m.feed(c);
    out.push(r.forward);
    if (r.detach) return { forwarded: Buffer.concat(out), detached: true };
  }
  return { forwarded: Buffer.concat(out), detached: false };
}

describe('DetachKeyMatcher', () => {
  const pq = Buffer.from([0x10, 0x11]);

  it('detaches on the sequence in one chunk or split, forwarding what came before', () => {
    expect(run(pq, [Buffer.from('ab\x10\x11cd')])).toEqual({ forwarded: Buffer.from('ab'), detached: true });
    expect(run(pq, [Buffer.from('ab\x10'), Buffer.from('\x11cd')])).toEqual({ forwarded: Buffer.from('ab'), detached: true });
    expect(run(Buffer.from([0x1c]), [Buffer.from('x\x1c')])).toEqual({ forwarded: Buffer.from('x'), detached: true });
  });

  it('passes a lone prefix on when the next key does not complete the sequence', () => {
    expect(run(pq, [Buffer.from('\x10'), Buffer.from('x')])).toEqual({ forwarded: Buffer.from('\x10x'), detached: false });
    expect(run(pq, [Buffer.from('\x10\x10\x11')])).toEqual({ forwarded: Buffer.from('\x10'), detached: true });
  });

  it('forwards every byte when the sequence never occurs, however the input is chunked', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.array(fc.nat(200), { maxLength: 10 }), (bytes, cuts) => {
        const data = Buffer.from(bytes.filter((b) => b !== 0x11));
        const points = [...new Set(cuts.map((c) => Math.min(c, data.length)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const p of [...points, data.length]) {
          chunks.push(data.subarray(at, p));
          at = p;
        }
        const r = run(pq, chunks);
        // A trailing lone prefix is still held back, waiting for the next key.
        const held = data.length > 0 && data[data.length - 1] === 0x10 ? 1 : 0;
        expect(r.detached).toBe(false);
        expect(r.forwarded).toEqual(data.subarray(0, data.length - held));
      }),
    );
  });
});
