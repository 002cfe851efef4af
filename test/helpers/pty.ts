// Drive the real binary under a real PTY, as a person at a terminal would.
import { spawn as ptySpawn, type IPty } from '@lydell/node-pty';
import { BIN, ROOT, type Env } from './cli.js';

export interface PtyRun {
  pty: IPty;
  /** Everything the terminal showed so far. */
  output(): string;
  write(data: string): void;
  resize(cols: number, rows: number): void;
  /** Resolves once the output matches; rejects with what was seen after timeoutMs. */
  waitFor(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  exited: Promise<{ exitCode: number; signal?: number }>;
}

export function runCliPty(args: string[], options: { env: Env; cols?: number; rows?: number; cwd?: string }): PtyRun {
  return spawnPty(process.execPath, [BIN, ...args], options);
}

export function spawnPty(file: string, args: string[], options: { env: Env; cols?: number; rows?: number; cwd?: string }): PtyRun {
  const pty = ptySpawn(file, args, {
    name: 'xterm-256color',
    cols: options.cols ?? 80,
    rows: options.rows ?? 24,
    cwd: options.cwd ?? ROOT,
    env: { TERM: 'xterm-256color', ...options.env },
  });
  let buffer = '';
  const waiters = new Set<() => void>();
  pty.onData((d) => {
    buffer += d;
    for (const w of [...waiters]) w();
  });
  const exited = new Promise<{ exitCode: number; signal?: number }>((resolve) => pty.onExit((e) => resolve(e)));
  return {
    pty,
    output: () => buffer,
    write: (d) => pty.write(d),
    resize: (c, r) => pty.resize(c, r),
    waitFor(pattern, timeoutMs = 15_000) {
      const test = () => (typeof pattern === 'string' ? buffer.includes(pattern) : pattern.test(buffer));
      return new Promise((resolve, reject) => {
        if (test()) return resolve(buffer);
        const check = () => {
          if (!test()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(buffer);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${String(pattern)}; terminal showed: ${JSON.stringify(buffer.slice(-2000))}`));
        }, timeoutMs);
        waiters.add(check);
      });
    },
    exited,
  };
}
