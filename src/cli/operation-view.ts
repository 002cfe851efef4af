// How a streamed operation's events reach the terminal: a spinner showing the latest `info` on a
// TTY stderr, plain lines on stderr when piped, or every event as NDJSON on stdout with --json.
import { notice, printNdjson, progress, type Progress } from '../lib/output.js';
import type { EventHandlers, OperationEvent } from '../lib/events.js';

export interface OperationView extends EventHandlers {
  succeed(event: OperationEvent): void;
  /** Stop the spinner before an error is printed. */
  stop(): void;
}

export async function operationView(json: boolean, startText: string): Promise<OperationView> {
  if (json) {
    return {
      onEvent: (e) => printNdjson(e),
      onInvalid: (m) => notice(`Warning: ${m}`),
      succeed: () => {},
      stop: () => {},
    };
  }
  let text = startText;
  let spinner: Progress = await progress(text);
  const tty = process.stderr.isTTY === true;
  // Print around the spinner: stop it, write, start it again with the same text.
  const around = async (write: () => void) => {
    spinner.stop();
    write();
    spinner = await progress(text);
  };
  return {
    async onEvent(e) {
      const data = typeof e.data === 'string' ? e.data : '';
      switch (e.type) {
        case 'info':
          text = data;
          if (tty) spinner.update(data);
          else notice(data);
          return;
        case 'stdout':
          return around(() => process.stdout.write(data));
        case 'stderr':
          return around(() => process.stderr.write(data));
        case 'warning':
          return around(() => notice(`Warning: ${data}`));
        default:
          return;
      }
    },
    onInvalid: (m) => void around(() => notice(`Warning: ${m}`)),
    succeed: (e) => spinner.succeed(typeof e.data === 'string' && e.data ? e.data : 'Done'),
    stop: () => spinner.stop(),
  };
}
