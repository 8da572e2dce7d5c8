// Node-only: the write discipline of every physiotwin writer (temporary name in the same folder, fsync, rename).
import { createHash, randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { unlinkSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { link, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { PhysiotwinError } from '@physiotwin/core';

/** Options of the atomic writers. */
export interface AtomicWriteOptions {
  /**
   * Replace existing files. A replaced file is swapped for the complete new one in one rename: a reader, a crash
   * or a kill sees the old file or the new one, never a mix.
   * @default false (an existing target is an `IO_EXISTS` error, decided by the file system at the moment of
   *   writing, so of several concurrent writers of one path exactly one wins)
   */
  overwrite?: boolean | undefined;
}

function errnoOf(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * A Node file-system error while writing `path` as a typed error: `IO_EXISTS` (EEXIST), `IO_NOT_FOUND` (a missing
 * folder), `IO_PERMISSION` (EACCES, EPERM, EROFS), `IO_WRITE_FAILED` (anything else: a parent that is a file, a
 * target that is a folder, a full disk, an I/O error). A `PhysiotwinError` passes through unchanged.
 * @throws nothing (it returns the error)
 */
export function writeError(e: unknown, path: string): PhysiotwinError {
  if (e instanceof PhysiotwinError) return e;
  const location = { file: path };
  const errno = errnoOf(e);
  const detail = (e as Error | undefined)?.message ?? String(e);
  const cause = e instanceof Error ? e : undefined;
  switch (errno) {
    case 'EEXIST':
      return new PhysiotwinError('IO_EXISTS', 'the file exists (pass --force or overwrite: true to replace it)', { location, cause });
    case 'ENOENT':
      return new PhysiotwinError('IO_NOT_FOUND', `the folder ${dirname(path)} does not exist (create it first)`, { location, cause });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new PhysiotwinError('IO_PERMISSION', `no permission to write here (${errno})`, { location, cause });
    case 'ENOTDIR':
      return new PhysiotwinError('IO_WRITE_FAILED', 'a parent of this path is a file, not a folder', { location, cause });
    case 'EISDIR':
      return new PhysiotwinError('IO_WRITE_FAILED', 'this path is a folder, not a file', { location, cause });
    case 'ENOSPC':
    case 'EDQUOT':
      return new PhysiotwinError('IO_WRITE_FAILED', `the disk is full (${errno})`, { location, cause });
    default:
      return new PhysiotwinError('IO_WRITE_FAILED', `cannot write: ${detail}`, { location, cause });
  }
}

/** Options of {@link AtomicOutputs.stage}. */
export interface StageOptions {
  /**
   * Also return the SHA-256 of the bytes written (for a run's provenance), computed while the file system writes
   * and fsyncs them, so that nobody reads the file back to hash it.
   * @default false
   */
  sha256?: boolean | undefined;
}

/** What {@link AtomicOutputs.stage} wrote: its size in bytes, and its SHA-256 (hex) when asked. */
export interface StagedFile {
  bytes: number;
  sha256?: string | undefined;
}

/** stat, or undefined when nothing is there; other errors are typed. */
async function statOrNone(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw writeError(e, path);
  }
}

/**
 * Checks, before any work starts, that every path in `paths` can be written: its folder exists, is a folder and is
 * writable, and no file is in the way unless `overwrite`. Leaves nothing behind (writability is tested with an
 * empty probe file, removed at once). Concurrent writers can still collide
 * later; the writers here settle that at the moment of writing (see {@link AtomicWriteOptions.overwrite}).
 * @throws PhysiotwinError `IO_EXISTS` (a target exists, no overwrite), `IO_NOT_FOUND` (its folder is missing),
 *   `IO_PERMISSION` (the folder is not writable), `IO_WRITE_FAILED` (a parent is a file, a target is a folder).
 * @example
 * ```ts
 * await checkOutputs(['out/labels.nii.gz', 'out/labels.nii.gz.manifest.json'], { overwrite: false });
 * ```
 */
export async function checkOutputs(paths: readonly string[], options: AtomicWriteOptions = {}): Promise<void> {
  const folders = new Map<string, string>();
  for (const path of paths) {
    const existing = await statOrNone(path);
    if (existing?.isDirectory()) throw writeError({ code: 'EISDIR' }, path);
    if (existing && !options.overwrite) throw writeError({ code: 'EEXIST' }, path);
    if (!folders.has(dirname(resolve(path)))) folders.set(dirname(resolve(path)), path);
  }
  for (const [folder, path] of folders) await checkFolder(folder, path);
}

/**
 * Checks that `folder` is an existing, writable folder; errors name `path`, the file to be written in it. Writable
 * is tested by creating and removing an empty probe file: permission bits say nothing for root, nor for read-only
 * mounts and file systems that refuse new files.
 */
async function checkFolder(folder: string, path: string): Promise<void> {
  const s = await statOrNone(folder);
  if (!s) throw writeError({ code: 'ENOENT' }, path);
  if (!s.isDirectory()) throw writeError({ code: 'ENOTDIR' }, path);
  const probe = resolve(folder, `.physiotwin-probe-${randomBytes(6).toString('hex')}.tmp`);
  try {
    await (await open(probe, 'wx')).close();
  } catch (e) {
    throw writeError(e, path);
  }
  await unlink(probe).catch(() => undefined);
}

/**
 * Checks, before any work, that `folder` exists and is writable or can be created: the nearest existing ancestor
 * must be a writable folder. Creates nothing (but a probe file, removed at once).
 * @throws PhysiotwinError `IO_PERMISSION`, `IO_WRITE_FAILED` (the folder or an ancestor is a file).
 */
export async function checkFolderCreatable(folder: string): Promise<void> {
  const target = resolve(folder);
  for (let dir = target; ; dir = dirname(dir)) {
    const s = await statOrNone(dir);
    if (s) {
      if (!s.isDirectory()) throw writeError({ code: 'ENOTDIR' }, target);
      return checkFolder(dir, target);
    }
    if (dirname(dir) === dir) return;
  }
}

/** Staged files whose fsync may still run (and whose handle is open) while the next ones are written. */
const MAX_PENDING_SYNCS = 16;

/** Every {@link AtomicOutputs} with temporary files or a commit in progress, for {@link abandonPendingWrites}. */
const pending = new Set<AtomicOutputs>();

/** Link errors that mean "this file system has no hard links", not "the target exists". */
const NO_HARD_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS', 'EXDEV', 'EMLINK']);

/**
 * A set of output files written all-or-nothing as far as the file system allows: {@link AtomicOutputs.stage}
 * writes each file under a temporary name in its target's folder (`.<name>.<random>.tmp`) and fsyncs it (in the
 * background: commit waits for every fsync before it renames anything); then
 * {@link AtomicOutputs.commit} moves them to their names in order: a rename when overwriting (the old file is
 * replaced only by a complete new one), else a hard link, which fails when the name exists, so that of several
 * concurrent writers exactly one wins (the others get `IO_EXISTS` and their temporary files are removed). A failed
 * commit removes the files it had created. Without hard links (some network and FAT file systems) the name is
 * claimed by an exclusive create, then replaced by a rename. A killed process (SIGKILL) can leave a temporary
 * file, never a partial file under a final name; {@link abandonPendingWrites} removes the temporary files on
 * SIGINT and SIGTERM.
 * @example
 * ```ts
 * const out = new AtomicOutputs({ overwrite: false });
 * await out.stage('result.csv', csv);
 * await out.stage('result.csv.manifest.json', JSON.stringify(manifest));
 * await out.commit();
 * ```
 */
export class AtomicOutputs {
  readonly #overwrite: boolean;
  /** Staged files in commit order: final path, temporary path. */
  readonly #staged: Array<{ path: string; temp: string }> = [];
  /** Temporary files being written or written (removed by discard). */
  readonly #temps = new Set<string>();
  /** Final paths this commit created (removed again if the commit fails or the process is interrupted). */
  readonly #created: string[] = [];
  #state: 'open' | 'committing' | 'done' = 'open';
  /** The background fsync and close of each staged file: undefined when done, else the typed error. */
  readonly #syncs: Array<Promise<PhysiotwinError | undefined>> = [];

  constructor(options: AtomicWriteOptions = {}) {
    this.#overwrite = Boolean(options.overwrite);
  }

  /**
   * Writes `data` (a string is UTF-8; an array of parts is written one part after the other, as if concatenated) to
   * a temporary file beside `path`, and starts its fsync: it returns once the bytes are written (the caller may
   * reuse them), while the fsync runs on in libuv's pool beside the caller's next work (the next file's writes and
   * fsync, a sidecar, a manifest); {@link AtomicOutputs.commit} waits for every fsync before it renames anything,
   * so a file reaches its name only once it is on disk. A failure discards the whole set (every file staged so far);
   * a failed fsync is reported by `commit`.
   * @returns the size written, and with `options.sha256` its SHA-256.
   * @throws PhysiotwinError `IO_*` (see {@link writeError}); `INVALID_ARGUMENT` after commit.
   */
  async stage(path: string, data: Uint8Array | string | readonly Uint8Array[], options: StageOptions = {}): Promise<StagedFile> {
    if (this.#state !== 'open') throw new PhysiotwinError('INVALID_ARGUMENT', 'AtomicOutputs: stage after commit', { location: { file: path } });
    const target = resolve(path);
    // NAME_MAX is 255 bytes: keep the temporary name inside it whatever the target's length.
    const temp = resolve(dirname(target), `.${basename(target).slice(0, 80)}.${randomBytes(6).toString('hex')}.tmp`);
    pending.add(this);
    this.#temps.add(temp);
    const parts: readonly Uint8Array[] = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : data instanceof Uint8Array ? [data] : data;
    let handle: FileHandle | undefined;
    const staged: StagedFile = { bytes: parts.reduce((n, p) => n + p.byteLength, 0) };
    let synced: Promise<PhysiotwinError | undefined>;
    try {
      handle = await open(temp, 'wx', 0o666);
      const h = handle;
      // The write runs on libuv's pool while the hash runs here (the bytes are not changed), and the fsync starts
      // as soon as the write is done, beside the rest of the hash (which yields now and then so that it can).
      const writing = writeParts(h, parts);
      // fsync and close in the background; commit awaits the outcome (caught: never an unhandled rejection). A
      // failed write is thrown below instead.
      synced = writing.then(() => syncAndClose(h, target), () => undefined);
      if (options.sha256) staged.sha256 = await sha256Of(parts);
      await writing;
    } catch (e) {
      await handle?.close().catch(() => undefined);
      this.discard();
      throw writeError(e, target);
    }
    this.#syncs.push(synced);
    this.#staged.push({ path: target, temp });
    // At most MAX_PENDING_SYNCS files open for their fsyncs: a set of thousands of small files must not run out of
    // file descriptors (each stage waits for the fsync that many files back).
    const back = this.#syncs[this.#syncs.length - 1 - MAX_PENDING_SYNCS];
    if (back) await back;
    return staged;
  }

  /**
   * Waits for every staged file's fsync, then moves every staged file to its name, in staging order, then fsyncs
   * their folders.
   * @throws PhysiotwinError `IO_EXISTS` (a name was taken, no overwrite: the files this commit had created are
   *   removed again), `IO_WRITE_FAILED` and other `IO_*` codes (a failed fsync: nothing renamed, every staged file
   *   removed).
   */
  async commit(): Promise<void> {
    if (this.#state !== 'open') throw new PhysiotwinError('INVALID_ARGUMENT', 'AtomicOutputs: commit called twice');
    this.#state = 'committing';
    try {
      // every file on disk before any name changes (the rename of an unsynced file could survive a crash empty)
      const failed = (await Promise.all(this.#syncs)).find((e) => e !== undefined);
      this.#syncs.length = 0;
      if (failed) throw failed;
      for (const { path, temp } of this.#staged) {
        try {
          if (this.#overwrite) await rename(temp, path);
          else await this.#linkNoReplace(temp, path);
        } catch (e) {
          throw writeError(e, path);
        }
        this.#temps.delete(temp);
      }
    } catch (e) {
      this.discard();
      throw e;
    } finally {
      this.#state = 'done';
    }
    const folders = new Set(this.#staged.map((s) => dirname(s.path)));
    this.#created.length = 0;
    this.#staged.length = 0;
    pending.delete(this);
    for (const folder of folders) await syncFolder(folder);
  }

  /** Claims `path` for `temp`'s content without replacing an existing file. */
  async #linkNoReplace(temp: string, path: string): Promise<void> {
    try {
      await link(temp, path);
    } catch (e) {
      if (!NO_HARD_LINKS.has(errnoOf(e) ?? '')) throw e;
      // No hard links here: claim the name with an exclusive create (an existing file fails with EEXIST), then
      // replace the empty claim with the full file. A kill between the two leaves an empty file under the name.
      await (await open(path, 'wx')).close();
      this.#created.push(path);
      await rename(temp, path);
      return;
    }
    this.#created.push(path);
    await unlink(temp).catch(() => undefined);
  }

  /**
   * Removes the temporary files, and the files an unfinished or failed commit had created (without overwrite a
   * name it created held nothing before, so removing it undoes the commit). Synchronous, for signal handlers.
   */
  discard(): void {
    // fsyncs still running finish on files already unlinked (their handles close then)
    this.#syncs.length = 0;
    for (const temp of this.#temps) removeQuietly(temp);
    this.#temps.clear();
    for (const path of this.#created) removeQuietly(path);
    this.#created.length = 0;
    this.#staged.length = 0;
    pending.delete(this);
  }
}

/** `parts` less their first `n` bytes (what a short writev left to write). */
function skipBytes(parts: readonly Uint8Array[], n: number): Uint8Array[] {
  const rest: Uint8Array[] = [];
  for (const p of parts) {
    if (n >= p.byteLength) n -= p.byteLength;
    else {
      rest.push(n > 0 ? p.subarray(n) : p);
      n = 0;
    }
  }
  return rest;
}

/**
 * Writes `parts` one after the other from the file's start: one writev call on libuv's pool for all of them (again
 * for what a short write left), not FileHandle.writeFile per part, whose 512 KiB chunks are each queued from this
 * thread: a hash running here held back all but the first chunk (an 80 MB volume took hash + write, 85-93 ms).
 */
async function writeParts(h: FileHandle, parts: readonly Uint8Array[]): Promise<void> {
  let rest = parts.filter((p) => p.byteLength > 0);
  for (let position = 0; rest.length > 0; ) {
    const { bytesWritten } = await h.writev(rest as Uint8Array[], position);
    position += bytesWritten;
    rest = skipBytes(rest, bytesWritten);
  }
}

/** Bytes hashed between two returns to the event loop (about 5 ms at 1.7 GB/s). */
const HASH_SLICE = 8 * 1024 * 1024;

/**
 * SHA-256 (hex) of `parts` concatenated, returning to the event loop every {@link HASH_SLICE} bytes, so that the
 * write's completion can start its fsync while a large file is still being hashed.
 */
async function sha256Of(parts: readonly Uint8Array[]): Promise<string> {
  const hash = createHash('sha256');
  let sinceYield = 0;
  for (const part of parts) {
    for (let at = 0; at < part.byteLength; ) {
      if (sinceYield >= HASH_SLICE) {
        await new Promise<void>((r) => setImmediate(r));
        sinceYield = 0;
      }
      const n = Math.min(part.byteLength - at, HASH_SLICE - sinceYield);
      hash.update(at === 0 && n === part.byteLength ? part : part.subarray(at, at + n));
      at += n;
      sinceYield += n;
    }
  }
  return hash.digest('hex');
}

/** fsync, then close: undefined when both worked, else the typed error (the handle is closed either way). */
async function syncAndClose(h: FileHandle, target: string): Promise<PhysiotwinError | undefined> {
  try {
    await h.sync();
  } catch (e) {
    await h.close().catch(() => undefined);
    return writeError(e, target);
  }
  try {
    await h.close();
  } catch (e) {
    return writeError(e, target);
  }
  return undefined;
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone (or never created).
  }
}

/** fsync of a folder, so that the renames in it survive a power cut; a no-op where folders cannot be opened. */
async function syncFolder(folder: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch {
    // Windows and some file systems cannot open or fsync a folder; the files themselves were fsynced.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Writes one file atomically: see {@link AtomicOutputs}.
 * @throws PhysiotwinError `IO_EXISTS` (exists, no overwrite; nothing written), other `IO_*` codes (see
 *   {@link writeError}).
 * @example
 * ```ts
 * await writeFileAtomic('plot.svg', svg, { overwrite: true });
 * ```
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, options: AtomicWriteOptions = {}): Promise<void> {
  const out = new AtomicOutputs(options);
  await out.stage(path, data);
  await out.commit();
}

/**
 * Removes, synchronously, every temporary file of this process's unfinished atomic writes, and the files of a
 * commit in progress that had not replaced anything. For SIGINT and SIGTERM handlers (the `physiotwin` command
 * installs them); a process that ends normally has none left.
 * @throws nothing (files that cannot be removed are left)
 */
export function abandonPendingWrites(): void {
  for (const out of [...pending]) out.discard();
}
