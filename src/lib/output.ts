// All printing goes through here: TTY/colour detection, tables, plain rows, JSON, spinners.
import type { Ora } from 'ora';

export interface OutputStreams {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

export function stdoutIsTTY(): boolean {
  return process.stdout.isTTY === true;
}

export function stderrIsTTY(): boolean {
  return process.stderr.isTTY === true;
}

/** Colour when FORCE_COLOR says so, never under NO_COLOR, else only on a TTY. */
export function colorEnabled(stream: NodeJS.WriteStream = process.stdout): boolean {
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0' && force !== 'false') return true;
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  if (force === '0' || force === 'false') return false;
  return stream.isTTY === true && process.env.TERM !== 'dumb';
}

export interface Styles {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
}

const plain: Styles = { bold: (s) => s, dim: (s) => s, red: (s) => s, green: (s) => s, yellow: (s) => s, cyan: (s) => s };

/** Colour functions for a stream; chalk is loaded only when colour is on. */
export async function styles(stream: NodeJS.WriteStream = process.stdout): Promise<Styles> {
  if (!colorEnabled(stream)) return plain;
  const { Chalk } = await import('chalk');
  const chalk = new Chalk({ level: 1 });
  return { bold: chalk.bold, dim: chalk.dim, red: chalk.red, green: chalk.green, yellow: chalk.yellow, cyan: chalk.cyan };
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function printNdjson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n');
}

export function notice(message: string): void {
  process.stderr.write(message + '\n');
}

/**
 * Rows for humans: a table on a TTY, tab-separated plain rows when piped (no header, no colour).
 * `plainColumns` picks which columns a piped row carries (default: all).
 */
export async function printRows(headers: string[], rows: string[][], plainColumns?: number[]): Promise<void> {
  if (!stdoutIsTTY()) {
    const cols = plainColumns ?? headers.map((_, i) => i);
    for (const row of rows) process.stdout.write(cols.map((i) => (row[i] ?? '').replace(/[\t\n]/g, ' ')).join('\t') + '\n');
    return;
  }
  const { default: Table } = await import('cli-table3');
  const s = await styles();
  const table = new Table({
    head: headers.map((h) => s.bold(h)),
    style: { head: [], border: [] },
    chars: { top: '', 'top-mid': '', 'top-left': '', 'top-right': '', bottom: '', 'bottom-mid': '', 'bottom-left': '', 'bottom-right': '', left: '', 'left-mid': '', mid: '', 'mid-mid': '', right: '', 'right-mid': '', middle: '  ' },
  });
  table.push(...rows);
  process.stdout.write(table.toString().split('\n').map((l) => l.replace(/^ /, '').trimEnd()).join('\n') + '\n');
}

/** Key/value pairs for one object: aligned on a TTY, `key<TAB>value` when piped. */
export async function printFields(fields: Array<[string, string]>): Promise<void> {
  if (!stdoutIsTTY()) {
    for (const [k, v] of fields) process.stdout.write(`${k}\t${v}\n`);
    return;
  }
  const s = await styles();
  const width = Math.max(...fields.map(([k]) => k.length));
  for (const [k, v] of fields) process.stdout.write(`${s.bold(k.padEnd(width))}  ${v}\n`);
}

/** A spinner on a TTY stderr; a no-op elsewhere (and whenever stdin is being forwarded). */
export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

export async function progress(text: string, options: { forwardingStdin?: boolean } = {}): Promise<Progress> {
  if (!stderrIsTTY() || options.forwardingStdin) {
    return { update: () => {}, succeed: (t) => notice(t), fail: (t) => notice(t), stop: () => {} };
  }
  const { default: ora } = await import('ora');
  const spinner: Ora = ora({ text, stream: process.stderr, discardStdin: false, color: colorEnabled(process.stderr) ? 'cyan' : false } as never).start();
  return {
    update: (t) => (spinner.text = t),
    succeed: (t) => spinner.succeed(t),
    fail: (t) => spinner.fail(t),
    stop: () => spinner.stop(),
  };
}

export function relativeTime(iso: string | undefined | null, now = Date.now()): string {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 0) return iso;
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
