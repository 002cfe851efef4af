// Which process groups the host driver started, on disk, so that an engine killed with SIGKILL
// does not leave its sprites' commands running forever: the next engine on the same data dir
// kills what the previous one recorded and never saw finish.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Field 22 of /proc/PID/stat: the start time, which tells a live process from a reused pid. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: split after its closing one.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

export class ProcessLedger {
  constructor(private readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  record(pid: number): void {
    const start = startTimeOf(pid);
    if (pid <= 0 || start === undefined) return;
    writeFileSync(join(this.dir, String(pid)), start);
  }

  forget(pid: number): void {
    rmSync(join(this.dir, String(pid)), { force: true });
  }

  /** Kill the process groups a previous engine recorded and that still run; returns how many. */
  reapLeftovers(): number {
    let reaped = 0;
    for (const name of readdirSync(this.dir)) {
      const pid = Number(name);
      let recorded = '';
      try {
        recorded = readFileSync(join(this.dir, name), 'utf8');
      } catch {
        // Removed meanwhile: nothing to do.
      }
      if (Number.isInteger(pid) && pid > 0 && recorded !== '' && startTimeOf(pid) === recorded) {
        try {
          process.kill(-pid, 'SIGKILL');
          reaped++;
        } catch {
          // The group is gone already.
        }
      }
      rmSync(join(this.dir, name), { force: true });
    }
    return reaped;
  }
}
