import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { UsageError } from '../lib/errors.js';
import { parseKeyValues, notFound } from '../lib/sprites.js';
import { execEnv, runExec } from '../lib/exec-run.js';
import { startDetached } from '../lib/sessions.js';
import type { ApiClient } from '../lib/api.js';
import { notice, printJson } from '../lib/output.js';
import { parseDuration } from '../protocol/duration.js';

export default class Exec extends SpritesCommand {
  static override description = `Run a command in a sprite, like a local command: stdout and stderr apart and byte-exact, stdin forwarded when it is a pipe or a file (or with -i), and the remote exit code as ours.

Exit codes: the remote command's (0-255; killed by signal n: 128+n); 124 after --timeout; 130 after a second Ctrl-C; 255 when the command could not be run or the connection was lost.

With -e or -t the CLI sends an environment, which replaces the sprite's default one; it starts from PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/home/sprite USER=sprite LOGNAME=sprite SHELL=/bin/bash LANG=C.UTF-8 (with -t also TERM, COLORTERM, LANG, LC_ALL from here), and -e values override it.

--http uses the HTTP exec (no WebSocket; also tried automatically when the WebSocket is blocked). Its frames carry no length, so a proxy that re-chunks the response can garble output: it is only a fallback, and has no TTY.`;
  static override examples = [
    '<%= config.bin %> exec demo -- python3 -c "print(2 + 2)"',
    'tar c src | <%= config.bin %> exec demo -- tar x -C /tmp',
    '<%= config.bin %> exec demo -it -- bash',
    '<%= config.bin %> exec demo -e DEBUG=1 -w /tmp --timeout 30s -- make test',
    '<%= config.bin %> exec demo --json -- uname -a',
    'id=$(<%= config.bin %> exec demo --detach -- ./long-job.sh) && <%= config.bin %> attach demo "$id"',
  ];
  static override strict = false;
  static override args = {
    name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from the .sprite file), then -- and the command' }),
  };
  static override flags = {
    interactive: Flags.boolean({ char: 'i', description: 'forward stdin even when it is a terminal' }),
    tty: Flags.boolean({ char: 't', description: 'run in a remote terminal (PTY), with this terminal in raw mode; needs a terminal on stdin' }),
    env: Flags.string({ char: 'e', description: 'set KEY=VALUE in the remote environment (repeatable; values may hold , and =; see DESCRIPTION for the base environment)', multiple: true }),
    dir: Flags.string({ char: 'w', description: 'working directory in the sprite (default: its home, /home/sprite)' }),
    timeout: Flags.string({ description: 'stop the remote command after this long (e.g. 30s, 5m) and exit 124' }),
    http: Flags.boolean({ description: 'use the HTTP exec fallback instead of a WebSocket (non-TTY only)' }),
    detach: Flags.boolean({ char: 'd', description: 'start the command in a TTY session, print its id and return at once (attach later with sprites attach)' }),
    'port-forward': Flags.boolean({
      description: 'forward ports the command opens to the same port on 127.0.0.1 (default: on when stdout is a terminal)',
      allowNo: true,
    }),
  };

  protected override failureExitCode = 255;

  async run(): Promise<unknown> {
    const { args, flags, argv } = await this.parse(Exec);
    const sep = this.argv.indexOf('--');
    const command = sep === -1 ? (argv as string[]).slice(1) : this.argv.slice(sep + 1);
    const before = (argv as string[]).length - command.length;
    if (before > 1) throw new UsageError(`unexpected ${JSON.stringify((argv as string[])[1])} before --; write: sprites exec NAME [flags] -- CMD [ARGS...]`);
    if (command.length === 0) throw new UsageError('missing command: write sprites exec NAME [flags] -- CMD [ARGS...]');
    const name = this.spriteName(before === 1 ? args.name : undefined);
    let timeoutMs: number | undefined;
    if (flags.timeout !== undefined) {
      const ms = parseDuration(flags.timeout);
      if (ms === null || ms <= 0) throw new UsageError(`--timeout ${JSON.stringify(flags.timeout)} is not a duration: write e.g. 30s, 5m or 1h`);
      timeoutMs = ms;
    }
    const api = await this.api(flags);
    if (flags.detach) return this.detached(api, name, command, flags);
    let result;
    try {
      result = await runExec(api, name, {
        argv: command,
        env: parseKeyValues(flags.env, '--env'),
        dir: flags.dir,
        tty: flags.tty,
        interactive: flags.interactive,
        timeoutMs,
        http: flags.http,
        portForward: flags['port-forward'],
        collect: this.jsonEnabled(),
        notice,
      });
    } catch (err) {
      throw notFound(err, name);
    }
    if (this.jsonEnabled()) {
      // Invalid UTF-8 in the output becomes U+FFFD.
      printJson({ exit_code: result.exitCode, stdout: result.stdout.toString('utf8'), stderr: result.stderr.toString('utf8'), duration_ms: result.durationMs });
    }
    this.exit(result.exitCode);
  }

  private async detached(api: ApiClient, name: string, argv: string[], flags: { env?: string[]; dir?: string; http: boolean; timeout?: string }): Promise<{ session_id: string }> {
    if (flags.http || flags.timeout !== undefined) throw new UsageError('--detach cannot be combined with --http or --timeout');
    const size = process.stdout.isTTY ? { cols: process.stdout.columns || 80, rows: process.stdout.rows || 24 } : { cols: 80, rows: 24 };
    let id: string;
    try {
      id = await startDetached(api, name, { argv, env: execEnv(parseKeyValues(flags.env, '--env'), true), dir: flags.dir, ...size });
    } catch (err) {
      throw notFound(err, name);
    }
    if (!this.jsonEnabled()) {
      process.stdout.write(id + '\n');
      notice(`started session ${id} in ${name}; attach with: sprites attach ${name} ${id}`);
    }
    return { session_id: id };
  }
}
