import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { UsageError } from '../lib/errors.js';
import { listSessions } from '../lib/sessions.js';
import { runAttach } from '../lib/attach.js';
import { notFound } from '../lib/sprites.js';
import { notice } from '../lib/output.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../lib/tty.js';
import { pickSession } from '../cli/pick-session.js';

export default class Attach extends SpritesCommand {
  static override description = `Attach to a running session: its scrollback, then live output; your terminal in raw mode for a TTY session. Detach with Ctrl+\\ (or --detach-keys) and the session runs on. A dropped connection is re-established. Exits with the session's exit code when it ends, 0 on detach.`;
  static override examples = ['<%= config.bin %> attach demo', '<%= config.bin %> attach demo 1234', '<%= config.bin %> attach demo 1234 --detach-keys ctrl-p,ctrl-q'];
  static override args = {
    name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from the .sprite file)' }),
    session: Args.string({ ignoreStdin: true, description: 'session id (default: the only running session; a picker on a terminal)' }),
  };
  static override flags = {
    'detach-keys': Flags.string({ description: 'key sequence that detaches, e.g. ctrl-p,ctrl-q', default: DEFAULT_DETACH_KEYS }),
  };

  protected override failureExitCode = 255;

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Attach);
    const name = this.spriteName(args.name);
    const keys = parseDetachKeys(flags['detach-keys']);
    if (!keys) throw new UsageError(`--detach-keys ${JSON.stringify(flags['detach-keys'])}: write keys like ctrl-\\ or ctrl-p,ctrl-q (ctrl- with a-z @ [ \\ ] ^ _, or single characters)`);
    const api = await this.api(flags);
    let id = args.session;
    if (id === undefined) {
      try {
        id = await pickSession(name, (await listSessions(api, name)).filter((s) => s.is_active));
      } catch (err) {
        throw notFound(err, name);
      }
    }
    const outcome = await runAttach(api, name, { sessionId: id, detachKeys: keys, notice });
    if (outcome.kind === 'detached') {
      notice(`detached from session ${id}; reattach with: sprites attach ${name} ${id}`);
      this.exit(0);
    }
    this.exit(outcome.exitCode);
  }
}
