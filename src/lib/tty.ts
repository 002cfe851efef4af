// The local terminal during a TTY session: raw mode that is restored on every way out, and a
// watcher that reports size changes.
import type { ReadStream, WriteStream } from 'node:tty';

/**
 * Puts a terminal in raw mode and guarantees it comes back: on restore(), on process exit
 * (including process.exit from an error path), and re-applied after SIGCONT (a shell's `fg`
 * restores the modes it saved at suspend).
 */
export class RawModeGuard {
  private active = false;
  private readonly onExit = () => this.restore();
  private readonly onCont = () => {
    if (this.active) this.input.setRawMode(true);
  };

  constructor(
    private readonly input: ReadStream,
    private readonly output?: WriteStream,
  ) {}

  enable(): void {
    if (this.active || !this.input.isTTY) return;
    this.input.setRawMode(true);
    this.active = true;
    process.on('exit', this.onExit);
    process.on('SIGCONT', this.onCont);
  }

  /** Idempotent. Leaves the terminal cooked with a visible cursor. */
  restore(): void {
    if (!this.active) return;
    this.active = false;
    process.off('exit', this.onExit);
    process.off('SIGCONT', this.onCont);
    try {
      this.input.setRawMode(false);
    } catch {
      // The terminal is gone (hangup): nothing to restore.
    }
    if (this.output?.isTTY) this.output.write('\x1b[?25h');
  }
}

/** Call onResize with the terminal's size on every change; returns the unsubscribe function. */
export function watchResize(output: WriteStream, onResize: (cols: number, rows: number) => void): () => void {
  const handler = () => {
    if (output.columns && output.rows) onResize(output.columns, output.rows);
  };
  output.on('resize', handler);
  return () => output.off('resize', handler);
}

/** The terminal's size now, or the API's default 80×24. */
export function terminalSize(output: WriteStream): { cols: number; rows: number } {
  return { cols: output.columns || 80, rows: output.rows || 24 };
}

/** The official CLI's detach key: Ctrl+\ (0x1c). */
export const DEFAULT_DETACH_KEYS = 'ctrl-\\';

/**
 * Parse a detach-key spec as docker writes it: comma-separated keys, each `ctrl-X` (X one of
 * a-z @ [ \ ] ^ _) or a single character. Null when the spec is invalid.
 */
export function parseDetachKeys(spec: string): Buffer | null {
  const bytes: number[] = [];
  for (const raw of spec.split(',')) {
    const key = raw.trim();
    const ctrl = /^ctrl-(.)$/i.exec(key);
    if (ctrl) {
      const c = ctrl[1]!.toLowerCase();
      if (c >= 'a' && c <= 'z') bytes.push(c.charCodeAt(0) - 96);
      else if ('@[\\]^_'.includes(c)) bytes.push('@[\\]^_'.indexOf(c) === 0 ? 0 : c.charCodeAt(0) - 64);
      else return null;
    } else if (key.length === 1) {
      bytes.push(key.charCodeAt(0));
    } else {
      return null;
    }
  }
  return bytes.length > 0 ? Buffer.from(bytes) : null;
}

/**
 * Finds the detach sequence in keystrokes, whether it arrives in one chunk or split across
 * several. Bytes that might start the sequence are held back until the next key decides: they
 * are passed on when it does not complete the sequence.
 */
export class DetachKeyMatcher {
  private matched = 0;

  constructor(private readonly sequence: Buffer) {}

  /** What to forward from this chunk, and whether the sequence completed (the rest is dropped). */
  feed(chunk: Buffer): { forward: Buffer; detach: boolean } {
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.sequence[this.matched]) {
        this.matched++;
        if (this.matched === this.sequence.length) {
          this.matched = 0;
          return { forward: Buffer.from(out), detach: true };
        }
        continue;
      }
      if (this.matched > 0) {
        for (let i = 0; i < this.matched; i++) out.push(this.sequence[i]!);
        this.matched = 0;
        if (byte === this.sequence[0]) {
          this.matched = 1;
          if (this.sequence.length === 1) return { forward: Buffer.from(out), detach: true };
          continue;
        }
      }
      out.push(byte);
    }
    return { forward: Buffer.from(out), detach: false };
  }
}
