// Write a tree of FILES files in DIRS directories totalling BYTES, contents varied (no two files
// alike), for the checkpoint benchmark. Runs inside a sprite (through `sprites exec`) or on the host.
//   node write-tree.js DIR [FILES=10000] [DIRS=100] [BYTES=1073741824]
import { mkdirSync, writeFileSync } from 'node:fs';
import { randomFillSync } from 'node:crypto';
import { join } from 'node:path';

const [root, files = '10000', dirs = '100', bytes = String(1024 ** 3)] = process.argv.slice(2);
const FILES = Number(files);
const DIRS = Number(dirs);
const size = Math.floor(Number(bytes) / FILES);
const pool = randomFillSync(Buffer.alloc(8 * 1024 * 1024));
for (let d = 0; d < DIRS; d++) {
  const dir = join(root, `d${d}`);
  mkdirSync(dir, { recursive: true });
  for (let f = 0; f < FILES / DIRS; f++) {
    const i = d * (FILES / DIRS) + f;
    const off = (i * 7919) % (pool.length - size);
    writeFileSync(join(dir, `f${f}.bin`), pool.subarray(off, off + size));
  }
}
process.stdout.write(`${size * FILES}\n`);
