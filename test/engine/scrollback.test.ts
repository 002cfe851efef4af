// The scrollback ring: bounded, offsets exact, the newest bytes kept.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Scrollback } from '../../src/engine/scrollback.js';
import { parseDuration } from '../../src/protocol/duration.js';

describe('Scrollback', () => {
  it('keeps the last `capacity` bytes and counts every byte ever pushed', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 50 }), { maxLength: 40 }), fc.integer({ min: 1, max: 120 }), (chunks, capacity) => {
        const ring = new Scrollback(capacity);
        for (const c of chunks) ring.push({ stream: 1, data: Buffer.from(c) });
        const all = Buffer.concat(chunks.map((c) => Buffer.from(c)));
        const held = Buffer.concat(ring.contents().map((c) => c.data));
        expect(ring.endOffset).toBe(all.length);
        expect(held).toEqual(all.subarray(Math.max(0, all.length - capacity)));
        expect(ring.start).toBe(all.length - held.length);
      }),
    );
  });

  it('keeps each chunk with its stream', () => {
    const ring = new Scrollback(4);
    ring.push({ stream: 1, data: Buffer.from('abc') });
    ring.push({ stream: 2, data: Buffer.from('de') });
    expect(ring.contents()).toEqual([
      { stream: 1, data: Buffer.from('bc') },
      { stream: 2, data: Buffer.from('de') },
    ]);
  });
});

describe('Scrollback and frames made in place', () => {
  it('drops the spare byte of a chunk cut at the front (it would be payload), keeps it on whole chunks', () => {
    const withRoom = Buffer.from('_abc');
    const ring = new Scrollback(5);
    ring.push({ stream: 1, data: withRoom.subarray(1), withRoom });
    expect(ring.contents()[0]!.withRoom).toBe(withRoom);
    ring.push({ stream: 2, data: Buffer.from('def') });
    const [cut] = ring.contents();
    expect(cut).toEqual({ stream: 1, data: Buffer.from('bc') });
    expect(cut!.withRoom).toBeUndefined();
  });
});

describe('parseDuration', () => {
  it('reads the forms the API and the CLI use', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('5m')).toBe(300_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('0')).toBe(0);
    expect(parseDuration('1.5')).toBe(1500);
    for (const bad of ['', 's', '10x', '-1s', '1 s']) expect(parseDuration(bad)).toBeNull();
  });
});
