import { Args, Flags } from '@oclif/core';
import { SpritesCommand } from '../cli/base.js';
import { describeKillEvent, killSession } from '../lib/sessions.js';
import { notice, printNdjson } from '../lib/output.js';
import { OperationError, UsageError } from '../lib/errors.js';
import { parseDuration } from '../protocol/duration.js';

export default class Kill extends SpritesCommand {
  static override description = `Signal a session's process group and wait for it to exit; after --timeout it is killed (SIGKILL). Progress goes to stderr; with --json the server's events are printed as NDJSON on stdout. A session that had already exited counts as success.`;
  static override examples = ['<%= config.bin %> kill demo 1234', '<%= config.bin %> kill demo 1234 --signal INT --timeout 30s', '<%= config.bin %> kill demo 1234 --json'];
  static override args = {
    name: Args.string({ ignoreStdin: true, description: 'sprite name', required: true }),
    session: Args.string({ ignoreStdin: true, description: 'session id (see: sprites sessions NAME)', required: true }),
  };
  static override flags = {
    signal: Flags.string({ char: 's', description: 'signal to send first (TERM, INT, HUP, KILL, QUIT, USR1, USR2)', default: 'TERM' }),
    timeout: Flags.string({ description: 'how long to wait before SIGKILL', default: '10s' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Kill);
    const name = this.spriteName(args.name);
    const signal = flags.signal.toUpperCase().replace(/^SIG/, '');
    if (!/^[A-Z0-9]+$/.test(signal)) throw new UsageError(`--signal ${JSON.stringify(flags.signal)} is not a signal name: use e.g. TERM, INT or KILL`);
    if (parseDuration(flags.timeout) === null) throw new UsageError(`--timeout ${JSON.stringify(flags.timeout)} is not a duration: write e.g. 10s or 1m`);
    let failed: string | undefined;
    for await (const event of killSession(await this.api(flags), name, args.session, { signal: `SIG${signal}`, timeout: flags.timeout })) {
      if (this.jsonEnabled()) printNdjson(event);
      else notice(describeKillEvent(event));
      if (event.type === 'error') failed = event.message;
    }
    if (failed !== undefined) throw new OperationError(`killing session ${args.session} failed: ${failed}`);
  }
}
