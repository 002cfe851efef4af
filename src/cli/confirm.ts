// Ask on the terminal; the answer must equal `expected` (or y/yes when expected is undefined).
// Ctrl-C or end of input count as "no".
import { createInterface } from 'node:readline/promises';

export async function confirm(question: string, expected?: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  const abort = new AbortController();
  rl.on('SIGINT', () => abort.abort());
  rl.on('close', () => abort.abort());
  try {
    const answer = (await rl.question(question, { signal: abort.signal })).trim();
    return expected === undefined ? /^y(es)?$/i.test(answer) : answer === expected;
  } catch {
    process.stderr.write('\n');
    return false;
  } finally {
    rl.close();
  }
}
