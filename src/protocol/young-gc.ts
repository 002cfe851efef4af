// Keeps a bulk stream's memory flat (the CLI's exec streams and the engine's stdin path; in
// protocol/ because both sides use it, and it does no I/O). Every buffer a stream passes through
// is an ArrayBuffer, and V8 collects dead young ArrayBuffers only once about 32 MB of them have
// piled up (a fixed threshold, whatever --max-semi-space-size says); some get promoted on the way
// and are then freed only by mark-compacts. So a CLI carrying 1 GiB held ~35 MB of dead buffers at
// any time. A young-generation collection every few MiB frees them while they are few; it costs a
// fraction of a millisecond, less CPU than the mark-compacts it avoids (docs/notes/perf-stream.md).
import { createRequire } from 'node:module';

/** Bytes carried between two young-generation collections. */
export const BYTES_PER_YOUNG_GC = 4 * 1024 * 1024;

type Gc = (options: { type: 'minor' | 'major' }) => void;
let gc: Gc | null | undefined;

/**
 * V8's own gc(), exposed on first use (the way test runners that log heap use do it), or null
 * where the runtime refuses. Only streams of more than BYTES_PER_YOUNG_GC get here.
 */
function v8Gc(): Gc | null {
  if (gc !== undefined) return gc;
  try {
    const existing = (globalThis as { gc?: Gc }).gc;
    if (typeof existing === 'function') return (gc = existing);
    // Loaded here, not at import: node:v8 and node:vm cost start-up time every exec would pay.
    const require = createRequire(import.meta.url);
    (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
    const exposed = (require('node:vm') as typeof import('node:vm')).runInNewContext('gc') as unknown;
    gc = typeof exposed === 'function' ? (exposed as Gc) : null;
  } catch {
    gc = null;
  }
  return gc;
}

/** Counts the bytes a stream carries and runs a young-generation GC every BYTES_PER_YOUNG_GC. */
export class YoungGcPacer {
  private bytes = 0;

  carried(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes < BYTES_PER_YOUNG_GC) return;
    this.bytes = 0;
    v8Gc()?.({ type: 'minor' });
  }
}
