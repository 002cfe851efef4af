// Typed API objects and control messages, with the wire's snake_case names (SPRITES-API.md).

export type SpriteStatus = 'cold' | 'warm' | 'running';

export interface SpriteConfig {
  ram_mb?: number;
  cpus?: number;
  region?: string;
  storage_gb?: number;
}

export interface UrlSettings {
  auth?: 'sprite' | 'public';
  private_access?: 'admins' | 'org_users';
}

export interface Sprite {
  id: string;
  name: string;
  organization?: string;
  org_slug?: string;
  status: SpriteStatus;
  config?: SpriteConfig;
  environment?: Record<string, string>;
  created_at: string;
  updated_at: string;
  url?: string;
  url_settings?: UrlSettings;
  labels?: string[];
  last_running_at?: string | null;
  last_warming_at?: string | null;
  version?: string;
  primary_region?: string;
}

export interface CreateSpriteRequest {
  name: string;
  config?: SpriteConfig;
  environment?: Record<string, string>;
  labels?: string[];
  url_settings?: UrlSettings;
  wait_for_capacity?: boolean;
  runtime?: 'default' | 'dev';
}

export interface UpdateSpriteRequest {
  url_settings?: UrlSettings;
  labels?: string[];
}

export interface ListSpritesResponse {
  sprites: Sprite[];
  has_more: boolean;
  next_continuation_token: string | null;
  running?: number;
  warm?: number;
  cold?: number;
  running_limit?: number;
  warm_limit?: number;
}

export interface ErrorBody {
  error: string;
  message?: string;
  limit?: number;
  window_seconds?: number;
  retry_after_seconds?: number;
  current_count?: number;
  upgrade_available?: boolean;
  upgrade_url?: string;
}

// Exec control messages (text frames).
export interface ResizeMessage {
  type: 'resize';
  cols: number;
  rows: number;
}

export type SignalName = 'INT' | 'TERM' | 'HUP' | 'KILL' | 'QUIT' | 'USR1' | 'USR2';
export const SIGNAL_NAMES: readonly SignalName[] = ['INT', 'TERM', 'HUP', 'KILL', 'QUIT', 'USR1', 'USR2'];

export interface SignalMessage {
  type: 'signal';
  signal: SignalName;
}

export interface SessionInfoMessage {
  type: 'session_info';
  session_id: number | string;
  command: string;
  created: number;
  cols?: number;
  rows?: number;
  is_owner: boolean;
  tty: boolean;
}

export interface ExitMessage {
  type: 'exit';
  exit_code: number;
}

export interface PortMessage {
  type: 'port_opened' | 'port_closed';
  port: number;
  address: string;
  pid: number;
}

export type ClientControlMessage = ResizeMessage | SignalMessage;
export type ServerControlMessage = SessionInfoMessage | ExitMessage | PortMessage;

/** Parse a text frame from the server; unknown or malformed messages give null (to be ignored). */
export function parseServerControl(text: string): ServerControlMessage | null {
  const msg = parseJsonObject(text);
  if (!msg) return null;
  switch (msg.type) {
    case 'session_info':
      if (typeof msg.session_id !== 'number' && typeof msg.session_id !== 'string') return null;
      // Some servers send the id as a number, others as a string: callers always get a string.
      return { ...msg, session_id: String(msg.session_id) } as unknown as SessionInfoMessage;
    case 'exit':
      if (typeof msg.exit_code !== 'number') return null;
      return msg as unknown as ExitMessage;
    case 'port_opened':
    case 'port_closed':
      if (typeof msg.port !== 'number') return null;
      return msg as unknown as PortMessage;
    default:
      return null;
  }
}

/** Parse a text frame from the client; null when it is not a message the server understands. */
export function parseClientControl(text: string): ClientControlMessage | null {
  const msg = parseJsonObject(text);
  if (!msg) return null;
  if (msg.type === 'resize' && isDimension(msg.cols) && isDimension(msg.rows)) {
    return { type: 'resize', cols: msg.cols, rows: msg.rows };
  }
  if (msg.type === 'signal' && typeof msg.signal === 'string') {
    const name = msg.signal.toUpperCase().replace(/^SIG/, '') as SignalName;
    if (SIGNAL_NAMES.includes(name)) return { type: 'signal', signal: name };
  }
  return null;
}

/** A JSON object, or null for anything else (invalid JSON, arrays, scalars). */
function parseJsonObject(text: string): Record<string, unknown> | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

function isDimension(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n <= 10000;
}

// Sessions (§3).
export interface SessionSummary {
  id: string;
  command: string;
  workdir: string;
  created: string;
  bytes_per_second: number;
  is_active: boolean;
  last_activity?: string;
  tty: boolean;
}

export interface ListSessionsResponse {
  sessions: SessionSummary[];
  count: number;
}

// Kill events (§4).
export type KillEvent =
  | { type: 'signal'; message: string; signal: string; pid: number }
  | { type: 'timeout'; message: string }
  | { type: 'exited'; message: string }
  | { type: 'killed'; message: string }
  | { type: 'error'; message: string }
  | { type: 'complete'; exit_code: number };

// Checkpoints (§7).
export interface Checkpoint {
  id: string;
  create_time: string;
  source_id?: string;
  comment?: string;
  history?: string[];
  is_auto?: boolean;
  health?: string;
}

export type StreamEvent =
  | { type: 'info' | 'stdout' | 'stderr' | 'warning' | 'complete'; data: string; time: string }
  | { type: 'error'; error: string; time: string };
