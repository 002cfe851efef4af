// The engine's exec sessions: every exec is a session (id = its pid) that clients attach to and
// detach from. A session keeps a scrollback ring, runs on after its clients leave (TTY: forever by
// default; non-TTY: max_run_after_disconnect, 10 s by default), and is reaped a while after it exits
// so that a late attach can still read the exit code.
import type { SpriteDriver, SpriteProcess, ListeningPort, SpawnRequest } from './driver.js';
import type { SpriteStore } from './store.js';
import type { SessionSummary, PortMessage, KillEvent } from '../protocol/messages.js';
import { Scrollback, type OutputChunk } from './scrollback.js';

/** Output kept per session for replay on attach. */
export const SCROLLBACK_BYTES = 1024 * 1024;
/** A finished session stays listed (and attachable, to read its exit code) this long. */
export const REAP_GRACE_MS = 60_000;
/** After max_run_after_disconnect, TERM; after this much more, KILL. */
export const DISCONNECT_KILL_GRACE_MS = 5_000;
export const DEFAULT_NON_TTY_MAX_RUN_MS = 10_000;
/** How often a live session's process tree is checked for listening ports. */
export const PORT_POLL_MS = 750;
/** Output queued towards one client above which the process is paused, and below which it resumes. */
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

/** One attached client, whatever its transport. */
export interface SessionClient {
  output(chunk: OutputChunk): void;
  exit(code: number): void;
  port(event: PortMessage): void;
  /** Output bytes queued towards this client and not yet written to its socket. */
  pending(): number;
}

export interface StartRequest extends SpawnRequest {
  /** 0 = run on forever after the last client leaves. */
  maxRunAfterDisconnectMs: number;
}

export class Session {
  readonly id: string;
  readonly created = new Date();
  readonly scrollback = new Scrollback(SCROLLBACK_BYTES);
  exitCode: number | undefined;
  exitedAt: Date | undefined;
  lastActivity: Date | undefined;
  cols: number;
  rows: number;
  private readonly clients: SessionClient[] = [];
  private readonly drainWaiters: Array<() => void> = [];
  private readonly exitWaiters: Array<(code: number) => void> = [];
  private paused = false;
  private disconnectTimer: NodeJS.Timeout | undefined;
  private killTimer: NodeJS.Timeout | undefined;
  private portTimer: NodeJS.Timeout | undefined;
  private ports = new Map<string, ListeningPort>();
  /** Output per second over the last few seconds: [second, bytes] buckets. */
  private rate: Array<[number, number]> = [];

  constructor(
    readonly sprite: string,
    readonly command: string,
    readonly workdir: string,
    readonly tty: boolean,
    readonly maxRunAfterDisconnectMs: number,
    private readonly proc: SpriteProcess,
    private readonly registry: SessionRegistry,
  ) {
    this.id = String(proc.pid > 0 ? proc.pid : registry.syntheticId());
    this.cols = 0;
    this.rows = 0;
    proc.onStdout((data) => this.onOutput(ownChunk(1, data)));
    proc.onStderr((data) => this.onOutput(ownChunk(2, data)));
    proc.onDrain(() => {
      for (const cb of this.drainWaiters.splice(0)) cb();
    });
    proc.onExit((code) => this.onExit(code));
    if (proc.pid > 0) this.portTimer = setInterval(() => void this.pollPorts(), PORT_POLL_MS);
    // Nobody attached yet: the creator attaches in the same tick; the timer starts if it does not.
    queueMicrotask(() => this.armDisconnectTimer());
  }

  get pid(): number {
    return this.proc.pid;
  }

  get isActive(): boolean {
    return this.exitCode === undefined;
  }

  get clientCount(): number {
    return this.clients.length;
  }

  isOwner(client: SessionClient): boolean {
    return this.clients[0] === client;
  }

  /**
   * Attach a client: replay the scrollback to it, then live output. Both happen in this tick, so
   * no output can fall between the replay and the live stream, nor appear in both.
   */
  attach(client: SessionClient, options: { replay: boolean }): { replayFrom: number } {
    const replayFrom = options.replay ? this.scrollback.start : this.scrollback.endOffset;
    if (options.replay) for (const chunk of this.scrollback.contents()) client.output(chunk);
    this.clients.push(client);
    this.cancelDisconnectTimer();
    for (const port of this.ports.values()) client.port(portMessage('port_opened', port));
    if (this.exitCode !== undefined) client.exit(this.exitCode);
    return { replayFrom };
  }

  detach(client: SessionClient): void {
    const i = this.clients.indexOf(client);
    if (i === -1) return;
    this.clients.splice(i, 1);
    this.outputDrained();
    this.armDisconnectTimer();
  }

  /** Stdin from a client; false when it should wait (onStdinDrain) before writing more. */
  write(data: Uint8Array): boolean {
    if (this.exitCode !== undefined) return true;
    this.touch();
    return this.proc.write(data);
  }

  onStdinDrain(cb: () => void): void {
    this.drainWaiters.push(cb);
  }

  endStdin(): void {
    this.proc.endStdin();
  }

  resize(cols: number, rows: number): void {
    this.cols = cols;
    this.rows = rows;
    this.proc.resize(cols, rows);
  }

  signal(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  /** Resolves with the exit code once the process has exited (at once if it has). */
  waitExit(): Promise<number> {
    if (this.exitCode !== undefined) return Promise.resolve(this.exitCode);
    return new Promise((resolve) => this.exitWaiters.push(resolve));
  }

  /**
   * Signal the process group, then KILL after timeoutMs if it is still running (SPRITES-API.md §4).
   * Reports progress through emit; resolves once the process has exited.
   */
  async kill(signal: NodeJS.Signals, timeoutMs: number, emit: (event: KillEvent) => void): Promise<void> {
    emit({ type: 'signal', message: `sent ${signal} to process group ${this.pid}`, signal, pid: this.pid });
    this.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const first = await Promise.race([this.waitExit(), timedOut]);
    clearTimeout(timer);
    if (first === 'timeout') {
      emit({ type: 'timeout', message: `process did not exit within ${timeoutMs / 1000}s; sending SIGKILL` });
      this.proc.kill('SIGKILL');
      const code = await this.waitExit();
      emit({ type: 'killed', message: `process group ${this.pid} killed` });
      emit({ type: 'complete', exit_code: code });
      return;
    }
    emit({ type: 'exited', message: `process exited with code ${first}` });
    emit({ type: 'complete', exit_code: first });
  }

  summary(): SessionSummary {
    const now = Date.now();
    const second = Math.floor(now / 1000);
    const recent = this.rate.filter(([s]) => s >= second - 5 && s < second);
    const bytes = recent.reduce((sum, [, b]) => sum + b, 0);
    return {
      id: this.id,
      command: this.command,
      workdir: this.workdir,
      created: this.created.toISOString(),
      bytes_per_second: this.isActive ? Math.round(bytes / 5) : 0,
      is_active: this.isActive,
      ...(this.lastActivity ? { last_activity: this.lastActivity.toISOString() } : {}),
      tty: this.tty,
    };
  }

  /** A client's queue shrank; resume the process once every client has room again. */
  outputDrained(): void {
    if (!this.paused) return;
    if (this.clients.every((c) => c.pending() < LOW_WATER)) {
      this.paused = false;
      this.proc.resume();
    }
  }

  private onOutput(chunk: OutputChunk): void {
    this.touch();
    const second = Math.floor(Date.now() / 1000);
    const last = this.rate[this.rate.length - 1];
    if (last && last[0] === second) last[1] += chunk.data.byteLength;
    else {
      this.rate.push([second, chunk.data.byteLength]);
      if (this.rate.length > 8) this.rate.shift();
    }
    this.scrollback.push(chunk);
    let full = false;
    for (const client of this.clients) {
      client.output(chunk);
      if (client.pending() > HIGH_WATER) full = true;
    }
    if (full && !this.paused) {
      this.paused = true;
      this.proc.pause();
    }
  }

  private onExit(code: number): void {
    this.exitCode = code;
    this.exitedAt = new Date();
    this.cancelDisconnectTimer();
    if (this.killTimer) clearTimeout(this.killTimer);
    if (this.portTimer) clearInterval(this.portTimer);
    for (const port of this.ports.values()) this.emitPort('port_closed', port);
    this.ports.clear();
    for (const client of [...this.clients]) client.exit(code);
    for (const cb of this.exitWaiters.splice(0)) cb(code);
    this.registry.exited(this);
  }

  private touch(): void {
    this.lastActivity = new Date();
  }

  private armDisconnectTimer(): void {
    if (this.clients.length > 0 || this.exitCode !== undefined || this.disconnectTimer) return;
    if (this.maxRunAfterDisconnectMs <= 0) return;
    this.disconnectTimer = setTimeout(() => {
      this.disconnectTimer = undefined;
      this.proc.kill('SIGTERM');
      this.killTimer = setTimeout(() => this.proc.kill('SIGKILL'), DISCONNECT_KILL_GRACE_MS);
    }, this.maxRunAfterDisconnectMs);
  }

  private cancelDisconnectTimer(): void {
    if (this.disconnectTimer) clearTimeout(this.disconnectTimer);
    this.disconnectTimer = undefined;
  }

  private async pollPorts(): Promise<void> {
    if (this.exitCode !== undefined) return;
    // Nobody would hear of a change: skip the /proc scan.
    if (this.clients.length === 0 && !this.registry.hasPortWatchers(this.sprite)) return;
    let now: ListeningPort[];
    try {
      now = await this.registry.driver.listeningPorts(this.sprite, [this.pid]);
    } catch {
      return;
    }
    if (this.exitCode !== undefined) return;
    const next = new Map(now.map((p) => [`${p.address}:${p.port}`, p]));
    for (const [key, port] of this.ports) if (!next.has(key)) this.emitPort('port_closed', port);
    for (const [key, port] of next) if (!this.ports.has(key)) this.emitPort('port_opened', port);
    this.ports = next;
  }

  private emitPort(type: PortMessage['type'], port: ListeningPort): void {
    const event = portMessage(type, port);
    for (const client of this.clients) client.port(event);
    this.registry.portEvent(this.sprite, event);
  }

  /** Ports currently open in this session. */
  openPorts(): PortMessage[] {
    return [...this.ports.values()].map((p) => portMessage('port_opened', p));
  }
}

/**
 * The session's own copy of a chunk the driver lent it (valid only during the callback), with one
 * spare byte in front so that clients can frame it without copying it again.
 */
function ownChunk(stream: 1 | 2, lent: Buffer): OutputChunk {
  const withRoom = Buffer.allocUnsafe(lent.byteLength + 1);
  lent.copy(withRoom, 1);
  return { stream, data: withRoom.subarray(1), withRoom };
}

function portMessage(type: PortMessage['type'], port: ListeningPort): PortMessage {
  return { type, port: port.port, address: port.address, pid: port.pid };
}

export type PortWatcher = (event: PortMessage) => void;

export class SessionRegistry {
  private readonly sessions = new Map<string, Session>();
  private readonly watchers = new Map<string, Set<PortWatcher>>();
  private readonly reapTimers = new Set<NodeJS.Timeout>();
  private nextSynthetic = 1;

  constructor(
    readonly driver: SpriteDriver,
    private readonly store: SpriteStore,
  ) {}

  start(req: StartRequest): Session {
    const proc = this.driver.spawn({
      sprite: req.sprite,
      argv: req.argv,
      env: req.env,
      cwd: req.cwd,
      tty: req.tty,
      cols: req.cols,
      rows: req.rows,
      hostHome: req.hostHome,
    });
    const session = new Session(req.sprite, req.argv.join(' '), req.cwd, req.tty, req.maxRunAfterDisconnectMs, proc, this);
    session.cols = req.cols;
    session.rows = req.rows;
    this.sessions.set(this.key(req.sprite, session.id), session);
    this.store.setStatus(req.sprite, 'running');
    return session;
  }

  /** Ids of processes that never started (not found) must not collide with real pids. */
  syntheticId(): string {
    return `x${this.nextSynthetic++}`;
  }

  get(sprite: string, id: string): Session | undefined {
    return this.sessions.get(this.key(sprite, id));
  }

  list(sprite: string): Session[] {
    return [...this.sessions.values()].filter((s) => s.sprite === sprite).sort((a, b) => a.created.getTime() - b.created.getTime());
  }

  /** Called by a session when its process has exited. */
  exited(session: Session): void {
    if (!this.list(session.sprite).some((s) => s.isActive)) this.store.setStatus(session.sprite, 'cold');
    const timer = setTimeout(() => {
      this.reapTimers.delete(timer);
      if (this.sessions.get(this.key(session.sprite, session.id)) === session) this.sessions.delete(this.key(session.sprite, session.id));
    }, REAP_GRACE_MS);
    timer.unref();
    this.reapTimers.add(timer);
  }

  watchPorts(sprite: string, watcher: PortWatcher): () => void {
    let set = this.watchers.get(sprite);
    if (!set) this.watchers.set(sprite, (set = new Set()));
    set.add(watcher);
    return () => {
      set!.delete(watcher);
      if (set!.size === 0) this.watchers.delete(sprite);
    };
  }

  hasPortWatchers(sprite: string): boolean {
    return (this.watchers.get(sprite)?.size ?? 0) > 0;
  }

  openPorts(sprite: string): PortMessage[] {
    return this.list(sprite).flatMap((s) => s.openPorts());
  }

  portEvent(sprite: string, event: PortMessage): void {
    for (const w of this.watchers.get(sprite) ?? []) w(event);
  }

  /** Kill every session of a sprite and forget them (before delete or restore). */
  async stopSprite(sprite: string): Promise<void> {
    const sessions = this.list(sprite);
    for (const s of sessions) s.signal('SIGKILL');
    await Promise.all(sessions.map((s) => Promise.race([s.waitExit(), delay(5000)])));
    for (const s of sessions) this.sessions.delete(this.key(sprite, s.id));
    this.store.setStatus(sprite, 'cold');
  }

  /** Engine shutdown: hang up on every session so nothing outlives the engine. */
  async closeAll(): Promise<void> {
    const live = [...this.sessions.values()].filter((s) => s.isActive);
    for (const s of live) s.signal('SIGHUP');
    await Promise.all(live.map((s) => Promise.race([s.waitExit(), delay(1000)])));
    for (const s of live) if (s.isActive) s.signal('SIGKILL');
    for (const t of this.reapTimers) clearTimeout(t);
  }

  private key(sprite: string, id: string): string {
    return `${sprite}\0${id}`;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
