// A deliberately slow consumer: after every BURST bytes read from stdin it pauses PAUSE_MS, so it
// drains at most BURST/PAUSE_MS and a faster writer upstream must hold back (backpressure).
// Prints the byte count at EOF.   node slow-reader.js [BURST_BYTES=4194304] [PAUSE_MS=20]
import { readSync } from 'node:fs';

const burst = Number(process.argv[2] ?? 4 * 1024 * 1024);
const pauseMs = Number(process.argv[3] ?? 20);
const buf = Buffer.alloc(1024 * 1024);
const sleeper = new Int32Array(new SharedArrayBuffer(4));
let total = 0;
let sincePause = 0;
for (;;) {
  let n;
  try {
    n = readSync(0, buf, 0, buf.length, null);
  } catch (err) {
    if (err.code !== 'EAGAIN') throw err;
    Atomics.wait(sleeper, 0, 0, 1);
    continue;
  }
  if (n === 0) break;
  total += n;
  sincePause += n;
  if (sincePause >= burst) {
    sincePause = 0;
    Atomics.wait(sleeper, 0, 0, pauseMs);
  }
}
process.stdout.write(`${total}\n`);
