// The base of every command: global flags, the API client, sprite-name resolution, and the one
// place where errors become messages and exit codes (DESIGN.md exit-code table).
import { Command, Flags, Errors, type Interfaces } from '@oclif/core';
import { ApiClient, ApiError, ConnectionError, type ApiTarget } from '../lib/api.js';
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
    this.apiClient = new ApiClient(await this.target(flags.api), debug);
    return this.apiClient;
  }

  private async target(apiFlag: string | undefined): Promise<ApiTarget> {
    const plan = planTarget(apiFlag);
    if (plan.kind === 'remote') return remoteTarget(plan);
    const { ensureEngine } = await import('../lib/local.js');
    const { state, started } = await ensureEngine(paths());
    if (started || (plan.implicit && process.stderr.isTTY)) {
      const why = plan.implicit ? ' (no token set; set SPRITES_TOKEN to use the hosted API)' : '';
      process.stderr.write(`${started ? 'Started' : 'Using'} the local engine at ${state.url}${why}\n`);
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
    const { code, message } = this.describe(err);
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

  private describe(err: Error & { exitCode?: number; oclif?: { exit?: number } }): { code: number; message: string } {
    if (err instanceof ApiError) {
      if (err.status === 401 || err.status === 403) {
        const target = this.apiClient?.target;
        const source = target ? `the token from ${target.tokenSource}` : 'the token';
        return { code: 4, message: `${target?.baseUrl ?? 'the API'} refused ${source} (${err.status}: ${err.message})` };
      }
      return { code: 1, message: err.message };
    }
    if (err instanceof ConnectionError) return { code: 1, message: err.message };
    if (err instanceof UsageError) return { code: 2, message: `${err.message}\nSee: sprites ${this.id ?? ''} --help` };
    if (err instanceof AuthError) return { code: 4, message: err.message };
    if (err instanceof FileError || err instanceof OperationError) return { code: 1, message: err.message };
    if (err.oclif?.exit !== undefined) {
      // oclif's own parse errors: a usage error.
      const text = err.message.replace(/\n?See more help with --help\s*$/, '');
      return { code: err.oclif.exit, message: `${text}\nUsage: sprites ${this.id ?? ''} ${usageOf(this.ctor)}\nSee: sprites ${this.id ?? ''} --help` };
    }
    return { code: typeof err.exitCode === 'number' ? err.exitCode : 1, message: err.message || String(err) };
  }
}

function usageOf(ctor: typeof Command): string {
  const args = Object.entries(ctor.args ?? {}).map(([name, a]) => (a.required ? name.toUpperCase() : `[${name.toUpperCase()}]`));
  return [...args, '[flags]'].join(' ');
}
