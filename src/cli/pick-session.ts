// Choose a session when `attach` is given none: the only one, a numbered prompt on a terminal,
// or a usage error listing the ids.
import { createInterface } from 'node:readline/promises';
import { UsageError } from '../lib/errors.js';
import type { SessionSummary } from '../protocol/messages.js';

export async function pickSession(sprite: string, sessions: SessionSummary[]): Promise<string> {
  if (sessions.length === 0) throw new UsageError(`sprite ${sprite} has no running sessions (start one with: sprites exec ${sprite} --detach -- CMD)`);
  if (sessions.length === 1) return sessions[0]!.id;
  const lines = sessions.map((s, i) => `  ${i + 1}) ${s.id}  ${s.command}${s.tty ? '  (tty)' : ''}`);
  if (!process.stdin.isTTY || !process.stderr.isTTY) {
    throw new UsageError(`sprite ${sprite} has ${sessions.length} running sessions; name one:\n${sessions.map((s) => `  ${s.id}  ${s.command}`).join('\n')}`);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    process.stderr.write(`Sessions in ${sprite}:\n${lines.join('\n')}\n`);
    const answer = (await rl.question(`Attach to which one? [1-${sessions.length}] `)).trim();
    const n = Number(answer);
    const chosen = Number.isInteger(n) && n >= 1 && n <= sessions.length ? sessions[n - 1] : sessions.find((s) => s.id === answer);
    if (!chosen) throw new UsageError(`${JSON.stringify(answer)} is not one of the listed sessions`);
    return chosen.id;
  } finally {
    rl.close();
  }
}
