import { Args } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { listSessions } from '../lib/sessions.js';
import { notFound } from '../lib/sprites.js';
import { printRows, relativeTime } from '../lib/output.js';
import type { SessionSummary } from '../protocol/messages.js';

export default class Sessions extends SpritesCommand {
  static override description = 'List the exec sessions of a sprite: running ones, and finished ones for a short while. A table on a terminal; tab-separated rows (id, command, tty, active, created, last activity) when piped.';
  static override aliases = ['sessions:list'];
  static override examples = ['<%= config.bin %> sessions demo', '<%= config.bin %> sessions list demo --json'];
  static override args = { name: Args.string({ ignoreStdin: true, description: 'sprite name (default: from the .sprite file)' }) };

  async run(): Promise<SessionSummary[]> {
    const { args, flags } = await this.parse(Sessions);
    const name = this.spriteName(args.name);
    let sessions: SessionSummary[];
    try {
      sessions = await listSessions(await this.api(flags), name);
    } catch (err) {
      throw notFound(err, name);
    }
    if (!this.jsonEnabled()) {
      const tty = process.stdout.isTTY === true;
      await printRows(
        ['ID', 'COMMAND', 'TTY', 'ACTIVE', 'CREATED', 'LAST ACTIVITY'],
        sessions.map((s) => [
          s.id,
          s.command,
          s.tty ? 'yes' : 'no',
          s.is_active ? 'yes' : 'no',
          tty ? relativeTime(s.created) : s.created,
          tty ? relativeTime(s.last_activity) : (s.last_activity ?? '-'),
        ]),
      );
    }
    return sessions;
  }
}
