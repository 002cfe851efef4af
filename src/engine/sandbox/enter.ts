// The command line that runs a program inside a sandboxed sprite.
//
//   env --ignore-signal=…  nsenter -t HOLDER -m -u -i -n -p -r -w  --  [PRIVILEGES…]  /bin/sh -c WRAPPER  sh  DIR  PROGRAM ARGS…
//
// The host-side process (the one the engine signals and waits for) is nsenter. It must forward
// neither death nor survival wrongly: it ignores the signals a session may receive, which reach the
// program directly because nsenter's child stays in the same process group. Inside, a tiny shell
// turns "killed by signal n" into exit code 128+n (nsenter alone cannot re-raise an ignored signal),
// changes to the working directory as the sprite sees it, and restores default signal handling.

/** Signals a session can be sent that nsenter itself must survive. */
const IGNORED = 'HUP,INT,QUIT,TERM,USR1,USR2';

const WRAPPER = [
  'trap "" HUP INT QUIT TERM USR1 USR2',
  'cd -- "$1" || exit 1',
  'shift',
  // The same words as the host driver for a program that is not there.
  'command -v -- "$1" >/dev/null || { echo "exec: $1: command not found" >&2; exit 127; }',
  '/usr/bin/env --default-signal -- "$@"',
  'exit $?',
].join('; ');

/** `privileges` is a command prefix (e.g. setpriv …) applied to the wrapper and so to the program. */
export function enterArgv(holderPid: number, cwd: string, argv: string[], privileges: string[] = []): string[] {
  return [
    '/usr/bin/env',
    `--ignore-signal=${IGNORED}`,
    '/usr/bin/nsenter',
    '-t',
    String(holderPid),
    '-m',
    '-u',
    '-i',
    '-n',
    '-p',
    '-r',
    '-w',
    '--',
    ...privileges,
    '/bin/sh',
    '-c',
    WRAPPER,
    'sh',
    cwd,
    ...argv,
  ];
}
