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
