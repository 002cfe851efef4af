// The command line that runs a program inside a sandboxed sprite:
//
//   env --block-signal=…  nsenter -t HOLDER -m -u -i -n -r -w  --  perl -e SUPERVISOR  SETNS DIR N [PRIVILEGES…] PROGRAM ARGS…
//
// One host process (the one the engine signals and waits for) execs its way into the sprite's
// mount, uts, ipc and net namespaces and its root; then the perl supervisor enters the pid
// namespace (setns applies to children), forks the program into it in a process group of its
// own (the terminal's foreground group under a PTY, so job-control shells work), forwards every
// signal the session receives to that group and exits with the program's code, 128+n when a
// signal killed it. Signals stay blocked from the first exec until the supervisor forwards them,
// so one sent while the command is starting is delivered, not lost. perl-base is essential in
// Debian and present in every sprite root, which is the host's.

/** Signals a session may be sent; the supervisor forwards them. */
const FORWARDED = ['HUP', 'INT', 'QUIT', 'TERM', 'USR1', 'USR2'];

const SUPERVISOR = `
use strict; use POSIX ();
my ($setns, $dir, $npriv, @rest) = @ARGV;
my @priv = splice(@rest, 0, $npriv);
my @argv = @rest;
my $name = $argv[0];
open(my $ns, '<', '/proc/1/ns/pid') or die "sprite: cannot open its pid namespace: $!\\n";
syscall($setns + 0, fileno($ns) + 0, 0x20000000) == 0 or die "sprite: cannot enter its pid namespace: $!\\n";
close($ns);
chdir($dir) or do { print STDERR "exec: cannot change to $dir: $!\\n"; exit 1 };
my $path;
if ($name =~ m{/}) { $path = $name if -e $name }
else { for my $d (split /:/, $ENV{PATH} // '') { my $f = ($d eq '' ? '.' : $d) . "/$name"; if (-f $f && -x _) { $path = $f; last } } }
if (!defined $path) { print STDERR "exec: $name: command not found\\n"; exit 127 }
if (-d $path || !-x $path) { print STDERR "exec: $name: permission denied\\n"; exit 126 }
my @sigs = qw(${FORWARDED.join(' ')});
my $tty = -t STDIN;
my $child = fork() // die "sprite: fork: $!\\n";
if ($child == 0) {
  POSIX::setpgid(0, 0);
  if ($tty) { $SIG{TTOU} = 'IGNORE'; POSIX::tcsetpgrp(0, $$); }
  $SIG{$_} = 'DEFAULT' for @sigs, 'TTOU';
  POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new());
  if (@priv) { exec { $priv[0] } @priv, @argv } else { exec { $path } @argv }
  print STDERR "exec: $name: $!\\n";
  POSIX::_exit(126);
}
POSIX::setpgid($child, $child);
$SIG{$_} = sub { kill $_[0], -$child } for @sigs;
POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new());
my $w;
do { $w = waitpid($child, 0) } while ($w == -1 && $!{EINTR});
my $st = $?;
exit(($st & 127) ? 128 + ($st & 127) : ($st >> 8));
`;

/** setns(2) per architecture; the sandbox is unavailable elsewhere. */
const SETNS: Partial<Record<string, number>> = { x64: 308, arm64: 268 };

export function setnsSyscall(): number | undefined {
  return SETNS[process.arch];
}

/** `privileges` is a command prefix (e.g. setpriv …) that runs the program. */
export function enterArgv(holderPid: number, cwd: string, argv: string[], privileges: string[] = []): string[] {
  return [
    '/usr/bin/env',
    `--block-signal=${FORWARDED.join(',')}`,
    '/usr/bin/nsenter',
    '-t',
    String(holderPid),
    '-m',
    '-u',
    '-i',
    '-n',
    '-r',
    '-w',
    '--',
    '/usr/bin/perl',
    '-e',
    SUPERVISOR,
    '--',
    String(setnsSyscall() ?? -1),
    cwd,
    String(privileges.length),
    ...privileges,
    ...argv,
  ];
}
