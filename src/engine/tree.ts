// Tree operations on sprite disks. copyTree copies a tree exactly (modes, times, symlinks as
// symlinks), file contents cloned copy-on-write where the filesystem can (COPYFILE_FICLONE falls
// back to a plain copy), reporting progress in files and bytes. Symlinks are never followed, so a link planted inside a sprite that
// points outside it is copied as a link and nothing outside is ever read or written.
import { constants, type Stats } from 'node:fs';
import { copyFile, chmod, lchown, lstat, mkdir, readdir, readlink, rm, symlink, utimes, lutimes } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface TreeEntry {
  /** Path relative to the root; '' is the root itself. */
  rel: string;
  /** `whiteout`: overlayfs' record of a lower-layer file deleted in a sandboxed sprite (char device 0/0). */
  kind: 'dir' | 'file' | 'symlink' | 'whiteout' | 'special';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  atime: Date;
  mtime: Date;
}

export interface TreeTotals {
  files: number;
  bytes: number;
}

export interface CopyProgress {
  done: TreeTotals;
  total: TreeTotals;
}

export interface CopyResult {
  copied: TreeTotals;
  /** Sockets, FIFOs and devices (not copied), and files that vanished while copying. */
  skipped: string[];
}

/** Every entry under root (pre-order: a directory before its contents), without following symlinks. */
export async function scanTree(root: string): Promise<{ entries: TreeEntry[]; total: TreeTotals }> {
  const total: TreeTotals = { files: 0, bytes: 0 };
  const entryOf = (rel: string, st: Stats): TreeEntry => {
    const kind = st.isDirectory()
      ? 'dir'
      : st.isFile()
        ? 'file'
        : st.isSymbolicLink()
          ? 'symlink'
          : st.isCharacterDevice() && st.rdev === 0
            ? 'whiteout'
            : 'special';
    if (kind === 'file') {
      total.files++;
      total.bytes += st.size;
    }
    return { rel, kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, atime: st.atime, mtime: st.mtime };
  };
  const walk = async (dir: TreeEntry): Promise<TreeEntry[]> => {
    const names = (await readdir(join(root, dir.rel))).sort();
    const children: TreeEntry[] = [];
    // lstat a directory's entries a batch at a time: one after another is slow on big trees.
    for (let i = 0; i < names.length; i += SCAN_BATCH) {
      const batch = names.slice(i, i + SCAN_BATCH).map((n) => (dir.rel === '' ? n : join(dir.rel, n)));
      const stats = await Promise.all(batch.map((rel) => lstat(join(root, rel))));
      batch.forEach((rel, k) => children.push(entryOf(rel, stats[k]!)));
    }
    const out: TreeEntry[] = [];
    for (const child of children) {
      out.push(child);
      if (child.kind === 'dir') out.push(...(await walk(child)));
    }
    return out;
  };
  const top = entryOf('', await lstat(root));
  const entries = top.kind === 'dir' ? [top, ...(await walk(top))] : [top];
  return { entries, total };
}

const SCAN_BATCH = 64;
const PARALLEL_FILES = 8;

/**
 * Copy the scanned tree of `src` to `dst`, which must not exist. Directories get their final modes
 * last, so a read-only directory can still be filled.
 */
export async function copyTree(
  src: string,
  dst: string,
  scanned: { entries: TreeEntry[]; total: TreeTotals },
  onProgress: (p: CopyProgress) => void = () => {},
): Promise<CopyResult> {
  const asRoot = process.getuid?.() === 0;
  const done: TreeTotals = { files: 0, bytes: 0 };
  const skipped: string[] = [];
  const dirs = scanned.entries.filter((e) => e.kind === 'dir');
  for (const d of dirs) await mkdir(join(dst, d.rel), { mode: 0o700 });

  const files = scanned.entries.filter((e) => e.kind === 'file');
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]!;
      const to = join(dst, f.rel);
      try {
        await copyFile(join(src, f.rel), to, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        skipped.push(f.rel);
        continue;
      }
      // copyFile already gave the copy the source's mode (setuid bits included).
      if (asRoot) await lchown(to, f.uid, f.gid);
      await utimes(to, f.atime, f.mtime);
      done.files++;
      done.bytes += f.size;
      onProgress({ done, total: scanned.total });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_FILES, files.length) }, worker));

  for (const e of scanned.entries) {
    if (e.kind === 'special' || (e.kind === 'whiteout' && !asRoot)) {
      skipped.push(e.rel);
      continue;
    }
    if (e.kind === 'whiteout') {
      // Node cannot make device nodes; mknod(1) can, as root (the sandbox driver runs as root).
      await execFileAsync('mknod', ['-m', (e.mode & 0o7777).toString(8), join(dst, e.rel), 'c', '0', '0']);
      await lchown(join(dst, e.rel), e.uid, e.gid);
      continue;
    }
    if (e.kind !== 'symlink') continue;
    let target: string;
    try {
      target = await readlink(join(src, e.rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      skipped.push(e.rel);
      continue;
    }
    const to = join(dst, e.rel);
    await symlink(target, to);
    if (asRoot) await lchown(to, e.uid, e.gid);
    await lutimes(to, e.atime, e.mtime);
  }

  // Deepest first: setting a directory's times must come after everything inside it was written.
  for (const d of [...dirs].reverse()) {
    const to = join(dst, d.rel);
    await chmod(to, d.mode);
    if (asRoot) await lchown(to, d.uid, d.gid);
    await utimes(to, d.atime, d.mtime);
  }
  return { copied: done, skipped };
}

/**
 * Remove a tree even where the sprite made directories read-only (rm alone would fail on their
 * contents). Symlinks are removed, never followed.
 */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
    return;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'ENOTEMPTY') throw err;
  }
  await makeWritable(path);
  await rm(path, { recursive: true, force: true });
}

async function makeWritable(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (!st.isDirectory()) return;
  await chmod(path, 0o700);
  for (const name of await readdir(path)) await makeWritable(join(path, name));
}
