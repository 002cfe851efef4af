import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, frameInPlace, clampExitCode, type Frame } from '../../src/protocol/frames.js';

const dataFrame = fc.record({
  kind: fc.constantFrom('stdin' as const, 'stdout' as const, 'stderr' as const),
  data: fc.uint8Array({ maxLength: 512 }),
});
const anyFrame: fc.Arbitrary<Frame> = fc.oneof(
  dataFrame,
  fc.record({ kind: fc.constant('exit' as const), code: fc.integer({ min: 0, max: 255 }) }),
  fc.constant({ kind: 'stdinEof' as const }),
);

describe('exec frame codec', () => {
  it('round-trips every frame', () => {
    fc.assert(
      fc.property(anyFrame, (frame) => {
        expect(decodeFrame(encodeFrame(frame))).toEqual(frame);
      }),
    );
  });

  it('frames output in place: the same bytes as encodeFrame, in the memory it was given', () => {
    fc.assert(
      fc.property(fc.constantFrom('stdout' as const, 'stderr' as const), fc.uint8Array({ maxLength: 512 }), (kind, data) => {
        const withRoom = new Uint8Array(data.byteLength + 1);
        withRoom.set(data, 1);
        const frame = frameInPlace(kind, withRoom);
        expect(frame).toBe(withRoom);
        expect(frame).toEqual(encodeFrame({ kind, data }));
        expect(decodeFrame(frame)).toEqual({ kind, data });
      }),
    );
  });

  it('never throws on arbitrary bytes, and unknown ids are error values', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const decoded = decodeFrame(bytes);
        if (bytes.length === 0 || bytes[0]! > 4) expect(decoded.kind).toBe('error');
      }),
    );
  });

  it('puts the stream byte first and no length prefix', () => {
    expect([...encodeFrame({ kind: 'stdout', data: Uint8Array.of(104, 105) })]).toEqual([1, 104, 105]);
    expect([...encodeFrame({ kind: 'stdinEof' })]).toEqual([4]);
    expect([...encodeFrame({ kind: 'exit', code: 300 })]).toEqual([3, 255]);
  });

  it('refuses an exit frame that is not exactly one code byte', () => {
    expect(decodeFrame(Uint8Array.of(3))).toEqual({ kind: 'error', reason: 'exit frame must carry exactly one byte, got 0' });
    expect(decodeFrame(Uint8Array.of(3, 1, 2)).kind).toBe('error');
    expect(decodeFrame(Uint8Array.of(4, 0)).kind).toBe('error');
    expect(decodeFrame(Uint8Array.of(9, 1))).toEqual({ kind: 'error', reason: 'unknown stream id 0x09' });
  });

  it('clamps exit codes to one byte', () => {
    expect(clampExitCode(0)).toBe(0);
    expect(clampExitCode(255)).toBe(255);
    expect(clampExitCode(256)).toBe(255);
    expect(clampExitCode(-1)).toBe(255);
    expect(clampExitCode(Number.NaN)).toBe(255);
  });
});

describe('exec frame decoder (fuzz)', () => {
  it('classifies any message: a frame whose re-encoding is the input, or an error value', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 4096 }), fc.tuple(fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 3 })).map(([id, rest]) => Uint8Array.of(id, ...rest))), (bytes) => {
        const decoded = decodeFrame(bytes);
        if (decoded.kind === 'error') {
          expect(typeof decoded.reason).toBe('string');
        } else {
          expect([...encodeFrame(decoded)]).toEqual([...bytes]);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
