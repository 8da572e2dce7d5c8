import { createHash, hash } from 'node:crypto';
import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';

import { dirname, join } from 'node:path';
import { PhysiotwinError, fileReadError, notRegularFileError } from '@physiotwin/core';
import { parseDicom } from './parse.js';
import { isDicomdir, readDicomdir } from './dicomdir.js';
import { scanDicom } from './series.js';
import type { DicomSource, ScanOptions, ScanResult } from './series.js';
import { DIGEST_PREFIX_MAX, createWorkerReader, digests, filePaths, keptFiles, wantDigest } from './worker-reader.js';
import type { FileDigest } from './worker-reader.js';

/** The worker reader every {@link fileSource} shares. */
const workerReader = createWorkerReader();

/** Bytes read for a header scan; longer headers (large private blocks) fall back to reading the whole file. */
const HEADER_PREFIX = 16 * 1024;
const headerScratch = new Uint8Array(HEADER_PREFIX);
/** Files at least this large make the scan start the worker reader (one 256x256 16-bit slice and up). */
const SHARED_FILE_BYTES = 128 * 1024;

/**
 * Whole files that a header read held (files under {@link HEADER_PREFIX}, most MR slices, and the few whose long
 * header made the scan read them to the end) are kept for the pixel reads of this thread, up to this many bytes in all across the process: a 1440-file MR series was read twice,
 * 30-38 ms of its 370 ms conversion. The bytes of a source are released when the source is collected.
 */
const KEPT_MAX_BYTES = 256 * 1024 * 1024;
let keptBytes = 0;
const keptRelease = new FinalizationRegistry<number>((n) => {
  keptBytes -= n;
});

export type { FileDigest };

// What `physiotwin dicom convert` needs besides the file access above, re-exported here so that the command does not
// load the package's main entry (the de-identifier and its 50 kB table, the DICOM writers): the same functions as
// the main entry's.
export { SPLIT_ATTRIBUTES, volumeGroups } from './series.js';
export { harmonizeTimePoints, loadVolume } from './volume.js';
export { bidsSidecar, diffusionTables, outputName, uniqueName } from './sidecar.js';

/** Options of {@link fileSource}. */
export interface FileSourceOptions {
  /**
   * Hash the file (SHA-256, for {@link fileDigest}) when a read has its bytes in hand: the header read of a small
   * file (always), and a pixel read that ends the file (header bytes read again, pixels hashed where they were read,
   * on the worker thread too), so that a run manifest need not read a large series a second time.
   * @default false
   */
  digest?: boolean | undefined;
}

// one-shot crypto.hash (Node 20.12+): no Hash object per file (a 1440-file scan hashes 1440 files)
const digestOf = (bytes: Uint8Array): FileDigest => ({ sha256: hash('sha256', bytes, 'hex'), bytes: bytes.length });

/**
 * A source that reads the file from disk when it is needed: a 16 KiB prefix for the header scan, and native pixel
 * data straight into the volume. A file that a header read holds whole is kept from it for this thread's
 * pixel reads (up to 256 MiB of such files in the process; the rest are read again): the load then converts the
 * bytes the scan read and hashed. Larger files are not kept (memory holds one file at a time). The reads are
 * synchronous: from the page cache they take microseconds, while round trips through libuv's thread pool
 * dominated the scan of a series. To use the second core, `loadVolume` shares large stacks with a worker thread
 * (`sharedReader`): faulting in the fresh volume's pages is most of a load's cost, and on the 2-core benchmark
 * machine reads on a libuv pool thread did not run in parallel with the main thread's while a worker thread's did
 * (`node --expose-gc scripts/measure-parallel-faults.mjs`: 84 MB in 31-32 ms on the main thread, 30-33 ms with half on
 * the pool, 17-18 ms with half on a worker).
 * @throws nothing when called; its reads reject with PhysiotwinError `DICOM_TRUNCATED` when the file is shorter than
 *   the pixel data it declares (and with Node's fs error for a file removed meanwhile).
 */
export function fileSource(path: string, options: FileSourceOptions = {}): DicomSource {
  const source: DicomSource = {
    name: path,
    sharedReader: workerReader,
    // a kept file as the scan read it (a copy: the caller may keep or change it), else the file as it is now
    read: async () => {
      const kept = keptFiles.get(source);
      if (kept) return kept.slice();
      try {
        return new Uint8Array(await readFile(path));
      } catch (e) {
        throw fileReadError(e, path);
      }
    },
    readHeader: async (maxBytes = HEADER_PREFIX) => typedRead(path, () => {
      const fd = openSync(path, 'r');
      try {
        // The first prefix goes into one scratch buffer (this body runs synchronously: no other read interleaves),
        // then is copied out at its length: a fresh 16 KiB per file was most of the scan's garbage on 1440 8 KiB
        // files. A file that ends within it needs no fstat (most MR slices). A longer prefix (a header past 16 KiB)
        // gets a buffer of its own, no longer than the file.
        const into = maxBytes <= HEADER_PREFIX ? headerScratch : new Uint8Array(Math.min(maxBytes, fstatSync(fd).size));
        const want = Math.min(maxBytes, into.length);
        let n = 0;
        for (let got = -1; got !== 0 && n < want; n += got) got = readSync(fd, into, n, want - n, n);
        const size = n < want ? n : fstatSync(fd).size;
        // A file past the prefix holds large pixel data (a 512x512 CT slice): loads of such series share their
        // reads with the worker, so it starts now, beside the rest of the scan (30-50 ms of thread start-up that the
        // load of a 512x512x160 CT series used to wait for).
        if (size >= SHARED_FILE_BYTES) workerReader.prepare?.();
        const bytes = into === headerScratch ? headerScratch.slice(0, n) : into.subarray(0, n);
        // The whole file is in hand (most MR and many CT slices are under 16 KiB): hash it now, so that the run's
        // manifest does not read every input again (fileDigest).
        if (n === size) {
          digests.set(source, digestOf(bytes));
          const before = keptFiles.get(source);
          if (before) {
            keptBytes -= before.length;
            keptRelease.unregister(source);
            keptFiles.delete(source);
          }
          if (keptBytes + n <= KEPT_MAX_BYTES) {
            keptFiles.set(source, bytes);
            keptBytes += n;
            keptRelease.register(source, n, source);
          }
        }
        return { bytes, size };
      } finally {
        closeSync(fd);
      }
    }),
    // from the page cache a read takes microseconds: done here, like the header read
    readInto: async (position, into) => source.readIntoSync!(position, into),
    readIntoSync: (position, into) => {
      const kept = keptFiles.get(source);
      if (kept) {
        // the bytes the header read held (and hashed): no second read of the file
        if (position + into.length > kept.length) throw truncated(Math.max(0, kept.length - position), into.length, path);
        into.set(kept.subarray(position, position + into.length));
        return;
      }
      typedRead(path, () => {
        const fd = openSync(path, 'r');
        try {
          for (let done = 0; done < into.length; ) done += bytesRead(readSync(fd, into, done, into.length - done, position + done), done, into.length, path);
          if (options.digest && position <= DIGEST_PREFIX_MAX && !digests.has(source)) {
            const size = fstatSync(fd).size;
            if (position + into.length === size) {
              // the file is these header bytes and the pixels just read: hash them here (fileDigest)
              const prefix = new Uint8Array(position);
              for (let done = 0; done < position; ) done += bytesRead(readSync(fd, prefix, done, position - done, done), done, position, path);
              digests.set(source, { sha256: createHash('sha256').update(prefix).update(into).digest('hex'), bytes: size });
            }
          }
        } finally {
          closeSync(fd);
        }
      });
    },
  };
  filePaths.set(source, path);
  if (options.digest) wantDigest.add(source);
  return source;
}

/**
 * The SHA-256 and size of a source's file, for a run manifest: taken during the scan when the header read held the
 * whole file, else read now (synchronously: from the page cache a read takes microseconds, and node:crypto's hash
 * runs several times faster than a round trip through WebCrypto per file).
 * @throws PhysiotwinError `IO_NOT_FOUND` for a file that is gone, `IO_PERMISSION` when it may not be read,
 *   `IO_INVALID` for other read errors; `INVALID_ARGUMENT` for a source that is not a file (not from
 *   {@link fileSource}) and holds no bytes.
 */
export function fileDigest(source: DicomSource): FileDigest {
  const known = digests.get(source);
  if (known) return known;
  const path = filePaths.get(source);
  if (path === undefined) {
    if (source.bytes) return digestOf(source.bytes);
    throw new PhysiotwinError('INVALID_ARGUMENT', `source ${source.name} is not a file and holds no bytes`);
  }
  const digest = digestOf(typedRead(path, () => readFileSync(path)));
  digests.set(source, digest);
  return digest;
}

/** Runs a synchronous read of `path`, its failures typed (`fileReadError`). */
function typedRead<T>(path: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw fileReadError(e, path);
  }
}

/** `n`, the bytes one read returned, unless the file ended (it was cut after the scan). */
function bytesRead(n: number, done: number, want: number, path: string): number {
  if (n === 0) throw truncated(done, want, path);
  return n;
}

/** The error of pixel data that ends after `done` of its `want` bytes. */
function truncated(done: number, want: number, path: string): PhysiotwinError {
  return new PhysiotwinError('DICOM_TRUNCATED', `pixel data ends after ${done} of ${want} bytes`, { location: { file: path, tag: '(7FE0,0010)' } });
}

async function walk(dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  // symbolic links count when they point at a regular file (exports often link files into a tree); linked folders
  // are not followed (a link to a parent would never end), nor devices, FIFOs or sockets (a read could block)
  // by UTF-16 code units: the same order in every locale, and 60x faster than localeCompare, which took 10 ms of a
  // 1440-file folder's scan
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p, out);
    else if (e.isFile() || (e.isSymbolicLink() && (await stat(p).catch(() => undefined))?.isFile())) out.push(p);
  }
}

/**
 * Expands paths into DICOM files: files as given, folders recursively, and a DICOMDIR into the files its
 * records reference (resolved against the DICOMDIR's folder; missing ones are an error).
 * @throws PhysiotwinError `IO_NOT_FOUND` for a missing path or referenced file; `IO_INVALID` for a path that is neither a
 *   regular file nor a folder (a FIFO or a device would block or never end); `DICOM_*` for a bad DICOMDIR.
 */
export async function expandDicomPaths(paths: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = await stat(p);
    } catch (e) {
      throw new PhysiotwinError('IO_NOT_FOUND', `no such file or folder: ${p}`, { location: { file: p }, cause: e });
    }
    if (st.isDirectory()) {
      await walk(p, out);
      continue;
    }
    if (!st.isFile()) throw notRegularFileError(st, p, 'a file or a folder');
    let dicomdir = false;
    try {
      // the meta header (MediaStorageSOPClassUID) sits in the first bytes: no need to read image files whole here
      const { bytes } = await fileSource(p).readHeader!();
      dicomdir = isDicomdir(parseDicom(bytes, { source: p, untilTag: 'x00041220' }));
    } catch {
      dicomdir = false; // not parseable as DICOM: scanning reports it
    }
    if (!dicomdir) {
      out.push(p);
      continue;
    }
    const records = readDicomdir(parseDicom(new Uint8Array(await readFile(p)), { source: p }));
    for (const r of records) {
      if (!r.fileId) continue;
      const file = join(dirname(p), ...r.fileId);
      let target;
      try {
        target = await stat(file);
      } catch (e) {
        throw new PhysiotwinError('IO_NOT_FOUND', `DICOMDIR ${p} references ${r.fileId.join('\\')}, which does not exist`, { location: { file: p }, cause: e });
      }
      if (!target.isFile()) throw new PhysiotwinError('IO_INVALID', `DICOMDIR ${p} references ${r.fileId.join('\\')}, which is not a regular file`, { location: { file } });
      out.push(file);
    }
  }
  return [...new Set(out)];
}

/**
 * Scans files, folders (recursive) and DICOMDIRs into series groups (see `scanDicom`). Files larger than the 16 KiB
 * header prefix are read again when a volume is loaded, so memory holds one of them at a time; smaller ones are kept
 * from the scan (see {@link fileSource}).
 * @throws as {@link expandDicomPaths} (`IO_NOT_FOUND` for a missing path) and {@link scanDicom}.
 * @example
 * ```ts
 * const scan = await scanDicomPaths(['study/DICOMDIR']);
 * const { volume } = await loadVolume(scan.groups[0], scan.sources, { spacing: 'report' });
 * ```
 */
export async function scanDicomPaths(paths: string[], options: ScanOptions & FileSourceOptions = {}): Promise<ScanResult> {
  const files = await expandDicomPaths(paths);
  const sourceOptions = { digest: options.digest };
  return scanDicom(files.map((f) => fileSource(f, sourceOptions)), options);
}
