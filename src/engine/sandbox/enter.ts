// The command line that runs a program inside a sandboxed sprite:
//
//   env --block-signal=…  perl -e SUPERVISOR  SYSCALLS HOLDER CGROUP DIR N [PRIVILEGES…] PROGRAM ARGS…
//
// One host process (the one the engine signals and waits for) becomes the program's supervisor:
// it joins the sprite's memory cgroup (when there is one, so everything it starts is counted),
// enters the sprite's ipc, uts, net, pid and mount namespaces and its root (what `nsenter -t HOLDER
// -i -u -n -p -m -r` does; setns to the pid namespace applies to children), forks the program into
// it in a process group of its own (the terminal's foreground group under a PTY, so job-control
// shells work), forwards every signal the session receives to that group and exits with the
// program's code, 128+n when a signal killed it. Signals stay blocked from the first exec until
// the supervisor forwards them, so one sent while the command is starting is delivered, not lost.
// perl-base is essential in Debian and present in every sprite root, which is the host's.
//
// The supervisor loads no Perl module (POSIX alone took ~10 ms per exec to load; %! loads Errno):
// setns and sigprocmask are raw syscalls, setpgid is perl's setpgrp, tcsetpgrp the TIOCSPGRP ioctl.

/** Signals a session may be sent; the supervisor forwards them. */
const FORWARDED = ['HUP', 'INT', 'QUIT', 'TERM', 'USR1', 'USR2'];

const SUPERVISOR = `
my ($sys, $holder, $cgroup, $dir, $npriv, @rest) = @ARGV;
my ($setns, $sigprocmask) = split /,/, $sys;
my @priv = splice(@rest, 0, $npriv);
my @argv = @rest;
my $name = $argv[0];
if ($cgroup ne '') {
  open(my $f, '>', $cgroup) or die "sprite: cannot join its memory cgroup: $!\\n";
  print $f 0;
  close($f) or die "sprite: cannot join its memory cgroup: $!\\n";
}
my @ns = ([ipc => 0x08000000], [uts => 0x04000000], [net => 0x40000000], [pid => 0x20000000], [mnt => 0x00020000]);
for my $n (@ns) { open($n->[2], '<', "/proc/$holder/ns/$n->[0]") or die "sprite: cannot open its $n->[0] namespace: $!\\n" }
opendir(my $root, "/proc/$holder/root") or die "sprite: cannot open its root: $!\\n";
for my $n (@ns) { syscall($setns + 0, fileno($n->[2]) + 0, $n->[1] + 0) == 0 or die "sprite: cannot enter its $n->[0] namespace: $!\\n"; close($n->[2]) }
chdir($root) && chroot('.') or die "sprite: cannot enter its root: $!\\n";
closedir($root);
chdir($dir) or do { print STDERR "exec: cannot change to $dir: $!\\n"; exit 1 };
my $path;
if ($name =~ m{/}) { $path = $name if -e $name }
else { for my $d (split /:/, $ENV{PATH} // '') { my $f = ($d eq '' ? '.' : $d) . "/$name"; if (-f $f && -x _) { $path = $f; last } } }
if (!defined $path) { print STDERR "exec: $name: command not found\\n"; exit 127 }
if (-d $path || !-x $path) { print STDERR "exec: $name: permission denied\\n"; exit 126 }
my @sigs = qw(${FORWARDED.join(' ')});
my $none = pack('Q', 0);
my $unblock = sub { syscall($sigprocmask + 0, 2, $none, 0, 8) == 0 or die "sprite: sigprocmask: $!\\n" };
my $tty = -t STDIN;
my $child = fork() // die "sprite: fork: $!\\n";
if ($child == 0) {
  setpgrp(0, 0);
  if ($tty) { $SIG{TTOU} = 'IGNORE'; ioctl(STDIN, 0x5410, pack('i', $$)); }
  $SIG{$_} = 'DEFAULT' for @sigs, 'TTOU';
  $unblock->();
  if (@priv) { exec { $priv[0] } @priv, @argv } else { exec { $path } @argv }
  print STDERR "exec: $name: $!\\n";
  exit 126;
}
setpgrp($child, $child);
$SIG{$_} = sub { kill $_[0], -$child } for @sigs;
$unblock->();
my $w;
do { $w = waitpid($child, 0) } while ($w == -1 && $! == 4);
my $st = $?;
exit(($st & 127) ? 128 + ($st & 127) : ($st >> 8));
`;

/** setns(2) and rt_sigprocmask(2) per architecture; the sandbox is unavailable elsewhere. */
const SYSCALLS: Partial<Record<string, { setns: number; sigprocmask: number }>> = {
  x64: { setns: 308, sigprocmask: 14 },
  arm64: { setns: 268, sigprocmask: 135 },
};

export function setnsSyscall(): number | undefined {
  return SYSCALLS[process.arch]?.setns;
}

export interface EnterOptions {
  /** A command prefix (e.g. setpriv …) that runs the program. */
  privileges?: string[];
  /** The file of the sprite's memory cgroup that moves the writer of "0" into it, written first. */
  cgroupJoin?: string;
}

export function enterArgv(holderPid: number, cwd: string, argv: string[], options: EnterOptions = {}): string[] {
  const sys = SYSCALLS[process.arch];
  const privileges = options.privileges ?? [];
  return [
    '/usr/bin/env',
    `--block-signal=${FORWARDED.join(',')}`,
    '/usr/bin/perl',
    '-e',
    SUPERVISOR,
    '--',
    sys ? `${sys.setns},${sys.sigprocmask}` : '-1,-1',
    String(holderPid),
    options.cgroupJoin ?? '',
    cwd,
    String(privileges.length),
    ...privileges,
    ...argv,
  ];
}
