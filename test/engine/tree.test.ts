// Both tree copiers against one fixture: the tree that comes out is the tree that went in.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { copyTreeWithCp, copyTreeWithNode, removeTree, scanTree } from '../../src/engine/tree.js';

const isRoot = process.getuid?.() === 0;
let dir: string;
let src: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'sprites-tree-'));
  src = join(dir, 'src');
  mkdirSync(join(src, 'a/b'), { recursive: true });
  writeFileSync(join(src, 'a/b/file'), 'content\n');
  writeFileSync(join(src, 'exec'), '#!/bin/sh\n', { mode: 0o750 });
  symlinkSync('/etc/passwd', join(src, 'out-link'));
  symlinkSync('a/b/file', join(src, 'in-link'));
  mkdirSync(join(src, 'ro'));
  writeFileSync(join(src, 'ro/inside'), 'x');
  chmodSync(join(src, 'ro'), 0o555);
  execFileSync('mkfifo', [join(src, 'fifo')]);
});
afterAll(async () => {
  await removeTree(dir);
});

function describeTree(root: string, rel = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(join(root, rel)).sort()) {
    const p = join(rel, name);
    const st = lstatSync(join(root, p));
    const mode = (st.mode & 0o7777).toString(8);
    if (st.isSymbolicLink()) out[p] = `link ${readlinkSync(join(root, p))}`;
    else if (st.isDirectory()) {
      out[p] = `dir ${mode} ${Math.floor(st.mtimeMs)}`;
      Object.assign(out, describeTree(root, p));
    } else if (st.isFile()) out[p] = `file ${mode} ${Math.floor(st.mtimeMs)} ${readFileSync(join(root, p), 'utf8')}`;
    else if (st.isFIFO()) out[p] = `fifo ${mode}`;
    else if (st.isCharacterDevice()) out[p] = `chr ${st.rdev}`;
  }
  return out;
}

describe('copyTreeWithNode', () => {
  it('copies files, modes, times and links exactly; skips the FIFO and says so', async () => {
    const scanned = await scanTree(src);
    expect(scanned.total.files).toBe(3);
    const seen: number[] = [];
    const result = await copyTreeWithNode(src, join(dir, 'node'), scanned, (p) => seen.push(p.done.files));
    expect(seen.at(-1)).toBe(3);
    expect(result.skipped).toEqual(['fifo']);
    const { fifo: _fifo, ...want } = describeTree(src);
    expect(describeTree(join(dir, 'node'))).toEqual(want);
  });
});

describe('copyTreeWithCp', () => {
  it('copies everything, FIFOs, hard links and (as root) overlay whiteouts included', async () => {
    linkSync(join(src, 'exec'), join(src, 'hard'));
    if (isRoot) execFileSync('mknod', [join(src, 'whiteout'), 'c', '0', '0']);
    try {
      const scanned = await scanTree(src);
      const seen: number[] = [];
      const result = await copyTreeWithCp(src, join(dir, 'cp'), scanned, (p) => seen.push(p.done.files));
      expect(result.skipped).toEqual([]);
      expect(seen.at(-1)).toBe(scanned.total.files);
      expect(describeTree(join(dir, 'cp'))).toEqual(describeTree(src));
      expect(statSync(join(dir, 'cp', 'hard')).ino).toBe(statSync(join(dir, 'cp', 'exec')).ino);
    } finally {
      rmSync(join(src, 'hard'));
      rmSync(join(src, 'whiteout'), { force: true });
    }
  });

  it('fails with cp\'s reason when the destination cannot be made', async () => {
    const scanned = await scanTree(src);
    await expect(copyTreeWithCp(src, join(dir, 'missing-parent', 'x'), scanned)).rejects.toThrow(/^copying .* failed: cp: .*No such file or directory/);
  });
});
