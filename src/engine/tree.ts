// Tree operations on sprite disks. copyTree copies a tree exactly (modes, times, symlinks as
// symlinks, and with GNU cp also devices, FIFOs, xattrs and hard links), file contents cloned
// copy-on-write where the filesystem can, reporting progress in files and bytes. Symlinks are
// never followed, so a link planted inside a sprite that points outside it is copied as a link
// and nothing outside is ever read or written.
import { constants, type Stats } from 'node:fs';
import { execFile, spawn } from 'node:child_process';
import { copyFile, chmod, lchown, lstat, mkdir, readdir, readlink, rm, symlink, utimes, lutimes } from 'node:fs/promises';
import { join } from 'node:path';

export interface TreeEntry {
  /** Path relative to the root; '' is the root itself. */
  rel: string;
  kind: 'dir' | 'file' | 'symlink' | 'special';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Times in seconds, to the microsecond (utimes takes seconds; a Date would keep only ms). */
  atime: number;
  mtime: number;
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
    const kind = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'special';
    if (kind === 'file') {
      total.files++;
      total.bytes += st.size;
    }
    return { rel, kind, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, size: st.size, atime: st.atimeMs / 1000, mtime: st.mtimeMs / 1000 };
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
 * Copy the scanned tree of `src` to `dst`, which must not exist. With GNU cp, `cp -a
 * --reflink=auto` does the copy: it also keeps what Node cannot make, which the sandbox's overlay
 * layer relies on (whiteouts are 0/0 character devices, opaque directories are xattrs), plus hard
 * links; its -v output drives the progress. Elsewhere the Node copier below.
 */
export async function copyTree(
  src: string,
  dst: string,
  scanned: { entries: TreeEntry[]; total: TreeTotals },
  onProgress: (p: CopyProgress) => void = () => {},
): Promise<CopyResult> {
  return (await hasGnuCp()) ? copyTreeWithCp(src, dst, scanned, onProgress) : copyTreeWithNode(src, dst, scanned, onProgress);
}

let gnuCp: Promise<boolean> | undefined;

function hasGnuCp(): Promise<boolean> {
  gnuCp ??= new Promise((resolve) => {
    execFile('cp', ['--version'], (err, stdout) => resolve(!err && /GNU coreutils/.test(stdout)));
  });
  return gnuCp;
}

export function copyTreeWithCp(
  src: string,
  dst: string,
  scanned: { entries: TreeEntry[]; total: TreeTotals },
  onProgress: (p: CopyProgress) => void = () => {},
): Promise<CopyResult> {
  const byPath = new Map(scanned.entries.map((e) => [e.rel === '' ? src : join(src, e.rel), e]));
  const done: TreeTotals = { files: 0, bytes: 0 };
  const skipped: string[] = [];
  return new Promise((resolve, reject) => {
    const child = spawn('cp', ['-a', '-v', '--reflink=auto', '--no-target-directory', src, dst], { stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        // `'SRC' -> 'DST'`; names cp had to escape are not matched and only miss the progress count.
        const sep = line.indexOf("' -> '");
        const entry = line.startsWith("'") && sep > 0 ? byPath.get(line.slice(1, sep)) : undefined;
        if (entry?.kind !== 'file') continue;
        done.files++;
        done.bytes += entry.size;
        onProgress({ done, total: scanned.total });
      }
    });
    let errors = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (errors.length < 64 * 1024) errors += chunk;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const problems = errors.split('\n').filter((l) => l.trim() !== '');
      // Source files deleted while the copy ran are skipped, as the Node copier does.
      const isVanished = (l: string) => /No such file or directory$/.test(l) && l.includes(`'${src}/`) && !l.includes(`'${dst}`);
      const vanished = problems.filter(isVanished);
      skipped.push(...vanished.map((l) => l.replace(/^cp: /, '')));
      const fatal = problems.filter((l) => !isVanished(l));
      if (code !== 0 && (fatal.length > 0 || vanished.length === 0)) {
        reject(new Error(`copying ${src} failed: ${fatal.slice(0, 3).join('; ') || `cp exited with ${code}`}`));
        return;
      }
      resolve({ copied: { files: Math.max(0, scanned.total.files - vanished.length), bytes: scanned.total.bytes }, skipped });
    });
  });
}

/**
 * The portable copier: files cloned with COPYFILE_FICLONE, symlinks as links, modes and times kept;
 * sockets, FIFOs and devices are skipped. Directories get their final modes last, so a read-only
 * directory can still be filled.
 */
export async function copyTreeWithNode(
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
    if (e.kind === 'special') {
      skipped.push(e.rel);
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
