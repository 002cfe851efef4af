// Host processes for the host driver: pipes (child_process) or a PTY (node-pty). Each command
// leads its own process group, so a signal reaches everything it started.
import { spawn as spawnChild } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { spawn as spawnTerminal } from '@lydell/node-pty';
import { rehome } from '../socket-handle.js';
import type { SpriteProcess } from '../driver.js';
import { clampExitCode } from '../../protocol/frames.js';

export interface HostSpawn {
  file: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  cols: number;
  rows: number;
}

/**
 * After a process exits, a grandchild may still hold its stdout open (`sleep 100 &`). Output that
 * is still arriving is read; once the pipes are silent this long, the command counts as finished.
 */
const PIPE_DRAIN_GRACE_MS = 1000;

type Listener<T> = (value: T) => void;

/** The callbacks every SpriteProcess keeps; exit is delivered once. */
class Events {
  stdout: Listener<Buffer>[] = [];
  stderr: Listener<Buffer>[] = [];
  exit: Listener<number>[] = [];
  drain: Array<() => void> = [];
  exitCode: number | undefined;

  emitExit(code: number): void {
    if (this.exitCode !== undefined) return;
    this.exitCode = code;
    for (const cb of this.exit) cb(code);
  }

  onExit(cb: Listener<number>): void {
    if (this.exitCode !== undefined) queueMicrotask(() => cb(this.exitCode!));
    else this.exit.push(cb);
  }
}

export function exitCodeOf(code: number | null | undefined, signal: NodeJS.Signals | number | null | undefined): number {
  if (signal !== null && signal !== undefined && signal !== 0) {
    const n = typeof signal === 'number' ? signal : (osConstants.signals[signal] ?? 0);
    return clampExitCode(128 + n);
  }
  return clampExitCode(code ?? 0);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group is gone (or never formed): try the leader alone.
    try {
      process.kill(pid, signal);
    } catch {
      // Already exited.
    }
  }
}

/** One read from a command's output pipe takes at most this much. */
const PIPE_READ_BYTES = 256 * 1024;

/**
 * Read a child's output pipe into one reused buffer (net's `onread`) instead of a fresh 64 KiB
 * buffer per read, whose churn costs the engine a mark-compact GC every few dozen MiB and fresh
 * pages (docs/notes/perf-stream.md); reads also take up to PIPE_READ_BYTES of what is waiting.
 * Each chunk is a view valid only during onChunk. Done before the first read (same tick as the
 * spawn). Returns undefined, leaving the socket as it is, if Node's handle is not as expected.
 */
function readIntoReusedBuffer(socket: Socket, onChunk: (chunk: Buffer) => void): Socket | undefined {
  const buffer = Buffer.allocUnsafe(PIPE_READ_BYTES);
  const reader = rehome(socket, {
    readable: true,
    writable: false,
    onread: { buffer, callback: (bytes: number) => void onChunk(buffer.subarray(0, bytes)) },
  } as SocketConstructorOpts);
  // Flowing, so that EOF ends and closes it (data never goes through the stream itself).
  reader?.resume();
  return reader;
}

export function spawnPipes(spec: HostSpawn): SpriteProcess {
  const ev = new Events();
  const child = spawnChild(spec.file, spec.argv.slice(1), {
    argv0: spec.argv[0],
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let paused = false;
  let open = 2;
  let exitCode: number | undefined;
  let grace: NodeJS.Timeout | undefined;
  const finish = () => {
    if (exitCode === undefined || ev.exitCode !== undefined) return;
    if (open > 0) {
      // Wait for silence; a paused reader is not silence.
      if (grace) clearTimeout(grace);
      if (paused) return;
      grace = setTimeout(() => {
        stdout.destroy();
        stderr.destroy();
        ev.emitExit(exitCode!);
      }, PIPE_DRAIN_GRACE_MS);
      return;
    }
    if (grace) clearTimeout(grace);
    ev.emitExit(exitCode);
  };
  const wire = (socket: Socket, listeners: Listener<Buffer>[]): Socket => {
    const deliver = (chunk: Buffer) => {
      for (const cb of listeners) cb(chunk);
      if (exitCode !== undefined) finish();
    };
    const stream = readIntoReusedBuffer(socket, deliver) ?? socket.on('data', deliver);
    stream.once('close', () => {
      open--;
      finish();
    });
    stream.on('error', () => {});
    return stream;
  };
  const stdout = wire(child.stdout as Socket, ev.stdout);
  const stderr = wire(child.stderr as Socket, ev.stderr);
  child.stdin.on('error', () => {});
  child.stdin.on('drain', () => {
    for (const cb of ev.drain) cb();
  });
  child.once('error', () => {
    // Spawn itself failed (the program vanished between resolving and exec).
    exitCode = 127;
    open = 0;
    finish();
  });
  child.once('exit', (code, signal) => {
    exitCode = exitCodeOf(code, signal);
    finish();
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    tty: false,
    onStdout: (cb) => ev.stdout.push(cb),
    onStderr: (cb) => ev.stderr.push(cb),
    onExit: (cb) => ev.onExit(cb),
    write: (data) => (child.stdin.writable ? child.stdin.write(data) : true),
    onDrain: (cb) => ev.drain.push(cb),
    endStdin: () => {
      if (child.stdin.writable) child.stdin.end();
    },
    resize: () => {},
    kill: (signal) => {
      if (pid > 0 && ev.exitCode === undefined) signalGroup(pid, signal);
    },
    pause: () => {
      paused = true;
      stdout.pause();
      stderr.pause();
    },
    resume: () => {
      paused = false;
      stdout.resume();
      stderr.resume();
      if (exitCode !== undefined) finish();
    },
  };
}

export function spawnPty(spec: HostSpawn): SpriteProcess {
  const ev = new Events();
  const term = spawnTerminal(spec.file, spec.argv.slice(1), {
    name: spec.env.TERM ?? 'xterm-256color',
    cols: spec.cols,
    rows: spec.rows,
    cwd: spec.cwd,
    env: spec.env,
    encoding: null,
  });
  // node-pty drops write()'s backpressure signal; its master socket still carries it.
  const master = (term as unknown as { _socket?: Socket })._socket;
  master?.on('drain', () => {
    for (const cb of ev.drain) cb();
  });
  term.onData((data) => {
    const chunk = typeof data === 'string' ? Buffer.from(data) : (data as unknown as Buffer);
    for (const cb of ev.stdout) cb(chunk);
  });
  term.onExit(({ exitCode, signal }) => ev.emitExit(exitCodeOf(exitCode, signal)));
  return {
    pid: term.pid,
    tty: true,
    onStdout: (cb) => ev.stdout.push(cb),
    onStderr: () => {},
    onExit: (cb) => ev.onExit(cb),
    write: (data) => {
      if (ev.exitCode !== undefined) return true;
      try {
        term.write(Buffer.from(data.buffer, data.byteOffset, data.byteLength) as unknown as string);
      } catch {
        // The terminal closed before its exit was reported: the input has nowhere to go.
        return true;
      }
      return master ? !master.writableNeedDrain : true;
    },
    onDrain: (cb) => ev.drain.push(cb),
    endStdin: () => {},
    resize: (cols, rows) => {
      if (ev.exitCode !== undefined) return;
      try {
        term.resize(cols, rows);
      } catch {
        // The process is gone and its terminal closed (EBADF) before the exit was reported.
      }
    },
    kill: (signal) => {
      if (ev.exitCode === undefined) signalGroup(term.pid, signal);
    },
    pause: () => term.pause(),
    resume: () => term.resume(),
  };
}

/**
 * A command that could not be started: its message on stderr (the terminal for a PTY) and the
 * shell's exit code for it (127 not found, 126 not executable), as `sh -c` would report.
 */
export function failedProcess(tty: boolean, message: string, code: number): SpriteProcess {
  const ev = new Events();
  setImmediate(() => {
    const text = Buffer.from(message + (tty ? '\r\n' : '\n'));
    for (const cb of tty ? ev.stdout : ev.stderr) cb(text);
    ev.emitExit(code);
  });
  return {
    pid: -1,
    tty,
    onStdout: (cb) => ev.stdout.push(cb),
    onStderr: (cb) => ev.stderr.push(cb),
    onExit: (cb) => ev.onExit(cb),
    write: () => true,
    onDrain: (cb) => ev.drain.push(cb),
    endStdin: () => {},
    resize: () => {},
    kill: () => {},
    pause: () => {},
    resume: () => {},
  };
}

export type Resolved = { ok: true; path: string } | { ok: false; code: number; message: string };

/** Find a program the way execvp does: a name with a slash is a path, else search PATH. */
export function resolveProgram(name: string, path: string, cwd: string): Resolved {
  if (name === '') return { ok: false, code: 127, message: 'exec: empty command name' };
  const candidates = name.includes('/') ? [isAbsolute(name) ? name : resolve(cwd, name)] : path.split(':').map((dir) => join(resolve(cwd, dir || '.'), name));
  let denied: string | undefined;
  for (const file of candidates) {
    try {
      if (statSync(file).isDirectory()) {
        denied ??= file;
        continue;
      }
      accessSync(file, constants.X_OK);
      return { ok: true, path: file };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EACCES') denied ??= file;
    }
  }
  if (denied) return { ok: false, code: 126, message: `exec: ${name}: permission denied` };
  return { ok: false, code: 127, message: `exec: ${name}: command not found` };
}
