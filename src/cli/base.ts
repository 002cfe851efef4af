// The base of every command: global flags, the API client, sprite-name resolution, and the one
// place where errors become messages and exit codes (DESIGN.md exit-code table).
import { Command, Flags, Errors, type Interfaces } from '@oclif/core';
import { ApiClient, ApiError, ConnectionError, redact, type ApiTarget } from '../lib/api.js';
import { AuthError, FileError, OperationError, UsageError } from '../lib/errors.js';
import { findContext, paths, planTarget, remoteTarget } from '../lib/config.js';
import { spriteNameProblem } from '../protocol/names.js';

export type BaseFlags<T extends typeof Command> = Interfaces.InferredFlags<(typeof SpritesCommand)['baseFlags'] & T['flags']>;

export abstract class SpritesCommand extends Command {
  static override enableJsonFlag = true;

  static override baseFlags = {
    api: Flags.string({
      description: 'API to use: a URL, or "local" for the local engine (default: SPRITES_API_URL, config, then hosted if a token is set, else local)',
      helpGroup: 'GLOBAL',
    }),
    debug: Flags.boolean({ description: 'trace HTTP requests to stderr (the token is redacted)', helpGroup: 'GLOBAL' }),
  };

  /** Exit code for failures outside the remote command; exec and attach use 255 (the ssh convention). */
  protected failureExitCode: number | undefined;

  private apiClient: ApiClient | undefined;

  protected async api(flags: { api?: string; debug?: boolean }): Promise<ApiClient> {
    if (this.apiClient) return this.apiClient;
    const debug = flags.debug || process.env.SPRITES_DEBUG === '1' ? (line: string) => process.stderr.write(`[debug] ${line}\n`) : undefined;
    this.apiClient = new ApiClient(await this.target(flags.api), {
      debug,
      notice: (line) => process.stderr.write(`${line}\n`),
      timeoutMs: httpTimeoutMs(),
    });
    return this.apiClient;
  }

  private async target(apiFlag: string | undefined): Promise<ApiTarget> {
    const plan = planTarget(apiFlag);
    if (plan.kind === 'remote') return remoteTarget(plan);
    const { ensureEngine } = await import('../lib/local.js');
    const { state, started } = await ensureEngine(paths());
    // Said once, when this command starts the engine: repeating it on every command would only
    // add noise to stderr (`sprites auth status` and `sprites local status` say it on demand).
    if (started) {
      const why = plan.implicit ? ' (no token set; set SPRITES_TOKEN to use the hosted API)' : '';
      process.stderr.write(`Started the local engine at ${state.url}${why}\n`);
    }
    return { baseUrl: state.url, token: state.token, tokenSource: 'local engine state file', isLocal: true };
  }

  /** The sprite name from the argument or the .sprite context file, validated. */
  protected spriteName(arg: string | undefined): string {
    let name = arg;
    if (name === undefined) {
      const ctx = findContext();
      if (!ctx) throw new UsageError('missing sprite name: pass NAME, or run "sprites use NAME" to set one for this directory');
      name = ctx.sprite;
    }
    const problem = spriteNameProblem(name);
    if (problem) throw new UsageError(problem);
    return name;
  }

  protected override async catch(err: Error & { exitCode?: number; oclif?: { exit?: number } }): Promise<unknown> {
    if (err instanceof Errors.ExitError) throw err;
    const described = this.describe(err);
    const code = described.code;
    const message = this.redactSecrets(described.message);
    const exit = code === 0 ? 0 : this.failureExitCode !== undefined && code !== 130 ? this.failureExitCode : code;
    process.exitCode = exit;
    if (this.jsonEnabled()) {
      const status = err instanceof ApiError ? err.status : undefined;
      const errCode = err instanceof ApiError ? err.code : err.name;
      process.stdout.write(JSON.stringify({ error: { code: errCode, message, ...(status ? { status } : {}) } }) + '\n');
    }
    process.stderr.write(`Error: ${message}\n`);
    if (process.env.SPRITES_DEBUG === '1' && !(err instanceof UsageError) && err.stack) process.stderr.write(err.stack + '\n');
    this.exit(exit);
  }

  /** No token ever reaches the terminal, whatever a server or a library put in a message. */
  private redactSecrets(text: string): string {
    const tokens = [this.apiClient?.target.token, process.env.SPRITES_TOKEN, process.env.SPRITE_TOKEN];
    return tokens.reduce<string>((t, token) => redact(t, token), text);
  }

  private describe(err: Error & { exitCode?: number; oclif?: { exit?: number } }): { code: number; message: string } {
    if (err instanceof ApiError) {
      if (err.status === 401 || err.status === 403) {
        const target = this.apiClient?.target;
        const source = target ? `the token from ${target.tokenSource}` : 'the token';
        return { code: 4, message: `${target?.baseUrl ?? 'the API'} refused ${source} (${err.status}: ${err.message})` };
      }
      return { code: 1, message: err.message + retryHint(err) + attemptsNote(err.attempts) };
    }
    if (err instanceof ConnectionError) return { code: 1, message: err.message + attemptsNote(err.attempts) };
    if (err instanceof UsageError) return { code: 2, message: `${err.message}\nSee: sprites ${this.id ?? ''} --help` };
    if (err instanceof AuthError) return { code: 4, message: err.message };
    if (err instanceof FileError || err instanceof OperationError) return { code: 1, message: err.message };
    if (err.oclif?.exit !== undefined) {
      // oclif's own parse errors are usage errors; some (a value outside a flag's options) carry
      // oclif's default exit code instead of a parse-specific one, so any error with parse
      // details is a 2.
      const text = err.message.replace(/\n?See more help with --help\s*$/, '');
      const code = 'parse' in err ? 2 : err.oclif.exit;
      return { code, message: `${text}\nUsage: sprites ${this.id ?? ''} ${usageOf(this.ctor)}\nSee: sprites ${this.id ?? ''} --help` };
    }
    return { code: typeof err.exitCode === 'number' ? err.exitCode : 1, message: err.message || String(err) };
  }
}

function usageOf(ctor: typeof Command): string {
  const args = Object.entries(ctor.args ?? {}).map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}]`));
  return [...args, '[flags]'].join(' ');
}

function attemptsNote(attempts: number): string {
  return attempts > 1 ? ` (gave up after ${attempts} attempts)` : '';
}

function retryHint(err: ApiError): string {
  if (err.status !== 429 || err.retryAfterSeconds === undefined || /retry in/.test(err.message)) return '';
  return `; retry in ${Math.ceil(err.retryAfterSeconds)}s`;
}

/** SPRITES_HTTP_TIMEOUT (seconds) replaces the per-request time budget; unset → the defaults. */
function httpTimeoutMs(): number | undefined {
  const raw = process.env.SPRITES_HTTP_TIMEOUT;
  if (raw === undefined || raw === '') return undefined;
  const seconds = Number(raw);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new UsageError(`SPRITES_HTTP_TIMEOUT=${JSON.stringify(raw)}: expected a number of seconds greater than 0`);
  }
  return seconds * 1000;
}
