// Exec framing (SPRITES-API.md §2): one stream byte, then the payload, no length prefix.

export const StreamId = {
  stdin: 0x00,
  stdout: 0x01,
  stderr: 0x02,
  exit: 0x03,
  stdinEof: 0x04,
} as const;

export type StreamName = keyof typeof StreamId;

export type Frame =
  | { kind: 'stdin'; data: Uint8Array }
  | { kind: 'stdout'; data: Uint8Array }
  | { kind: 'stderr'; data: Uint8Array }
  | { kind: 'exit'; code: number }
  | { kind: 'stdinEof' };

/** A frame that could not be decoded. Returned, never thrown: a hostile peer must not crash us. */
export interface FrameError {
  kind: 'error';
  reason: string;
}

export type DecodedFrame = Frame | FrameError;

const NAMES: Record<number, StreamName> = {
  0x00: 'stdin',
  0x01: 'stdout',
  0x02: 'stderr',
  0x03: 'exit',
  0x04: 'stdinEof',
};

/** Clamp an exit status to what one byte can carry, as the server does. */
export function clampExitCode(code: number): number {
  if (!Number.isFinite(code)) return 255;
  const n = Math.trunc(code);
  if (n < 0) return 255;
  return n > 255 ? 255 : n;
}

export function encodeFrame(frame: Frame): Uint8Array {
  switch (frame.kind) {
    case 'exit':
      return Uint8Array.of(StreamId.exit, clampExitCode(frame.code));
    case 'stdinEof':
      return Uint8Array.of(StreamId.stdinEof);
    default: {
      const out = new Uint8Array(frame.data.byteLength + 1);
      out[0] = StreamId[frame.kind];
      out.set(frame.data, 1);
      return out;
    }
  }
}

/**
 * An output frame made without copying: `withRoom` is the payload with one spare byte in front
 * (the payload is withRoom[1..]); the stream id goes into that byte and withRoom is the frame.
 */
export function frameInPlace(kind: 'stdout' | 'stderr', withRoom: Uint8Array): Uint8Array {
  withRoom[0] = StreamId[kind];
  return withRoom;
}

/** Decode one binary WebSocket message. Data payloads are views on the input (no copy). */
export function decodeFrame(message: Uint8Array): DecodedFrame {
  if (message.byteLength === 0) return { kind: 'error', reason: 'empty frame' };
  const id = message[0]!;
  const name = NAMES[id];
  if (name === undefined) {
    return { kind: 'error', reason: `unknown stream id 0x${id.toString(16).padStart(2, '0')}` };
  }
  const payload = message.subarray(1);
  switch (name) {
    case 'exit':
      if (payload.byteLength !== 1) {
        return { kind: 'error', reason: `exit frame must carry exactly one byte, got ${payload.byteLength}` };
      }
      return { kind: 'exit', code: payload[0]! };
    case 'stdinEof':
      if (payload.byteLength !== 0) return { kind: 'error', reason: 'stdin EOF frame must be empty' };
      return { kind: 'stdinEof' };
    default:
      return { kind: name, data: payload };
  }
}
