// How the engine runs things inside a sprite. Every process spawn and every TCP dial into a sprite
// goes through a SpriteDriver, so the isolation level (host processes today; namespaces later)
// is decided in one place.
import type { Duplex } from 'node:stream';

export interface SpawnRequest {
  /** The sprite's name (for the sandbox driver: whose namespaces to enter). */
  sprite: string;
  /** argv[0] is the program; resolved through PATH of `env`. */
  argv: string[];
  env: Record<string, string>;
  /** Working directory as the sprite sees it. */
  cwd: string;
  tty: boolean;
  cols: number;
  rows: number;
  /** Where the sprite's home lives on the host (store.homeDirOf): drivers map the sprite's home onto it. */
  hostHome: string;
}

/** What a command gets when the client names no environment or directory (SPRITES-API.md §2). */
export interface SpawnDefaults {
  cwd: string;
  env: Record<string, string>;
}

/** A process running in a sprite, PTY or pipes. */
export interface SpriteProcess {
  /** Host pid of the process (the process group leader). */
  readonly pid: number;
  readonly tty: boolean;
  /**
   * stdout (for a PTY: the merged terminal output). A chunk is lent: it may be read into again
   * once the callback returns, so a listener copies what it keeps.
   */
  onStdout(cb: (chunk: Buffer) => void): void;
  /** stderr (lent, as for stdout); never called for a PTY. */
  onStderr(cb: (chunk: Buffer) => void): void;
  /** Exit code clamped to 0..255; killed by signal n → 128+n. Called once, after all output. */
  onExit(cb: (code: number) => void): void;
  /** Write to stdin; returns false when the caller should wait for onDrain. */
  write(data: Uint8Array): boolean;
  onDrain(cb: () => void): void;
  endStdin(): void;
  resize(cols: number, rows: number): void;
  /** Signal the whole process group. */
  kill(signal: NodeJS.Signals): void;
  /** Stop/start reading output (backpressure towards the process). */
  pause(): void;
  resume(): void;
}

export interface ListeningPort {
  port: number;
  address: string;
  /** Host pid of the listening process, when it can be found. */
  pid: number;
}

export interface SpriteDriver {
  readonly name: 'host' | 'sandbox';
  /** Prepare a sprite for running processes (no-op for host). */
  prepare(sprite: string): Promise<void>;
  /**
   * Default environment and working directory of a command. Added for exec: only the driver knows
   * where the sprite's home appears to its processes and which PATH finds their tools.
   */
  defaults(sprite: string, hostHome: string): SpawnDefaults;
  spawn(req: SpawnRequest): SpriteProcess;
  /** Open a TCP connection to host:port as seen from inside the sprite. */
  dial(sprite: string, host: string, port: number): Promise<Duplex>;
  /** TCP ports listened on by the given processes (and their descendants) in the sprite. */
  listeningPorts(sprite: string, pids: number[]): Promise<ListeningPort[]>;
  /** Release everything the driver holds for a sprite (before delete or restore). */
  release(sprite: string): Promise<void>;
  /** The sprite's policies changed; a driver that enforces them applies them at once. */
  policyChanged?(sprite: string): Promise<void>;
  /** Let go of everything (engine shutdown), after every sprite was released. */
  close?(): Promise<void>;
}

/** A spawn refused before anything ran (e.g. the working directory does not exist): the request's fault. */
export class SpawnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpawnError';
  }
}
