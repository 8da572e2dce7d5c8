/**
 * Stable error codes. A code never changes meaning once released; new failure kinds get new codes.
 * Callers switch on `error.code`, never on the message text.
 */
export type ErrorCode =
  // generic input and control flow
  | 'INVALID_ARGUMENT'
  | 'ABORTED'
  | 'CONFIG_INVALID'
  // a working buffer this platform cannot allocate (too large for one typed array, or memory exhausted)
  | 'OUT_OF_MEMORY'
  // file formats (io)
  | 'IO_TRUNCATED'
  | 'IO_INVALID'
  | 'IO_UNSUPPORTED'
  | 'IO_NOT_FOUND'
  | 'IO_EXISTS'
  // the file system refused: no permission, read-only, a parent that is not a folder, disk full
  | 'IO_PERMISSION'
  | 'IO_WRITE_FAILED'
  // DICOM
  | 'DICOM_TRUNCATED'
  | 'DICOM_INVALID'
  | 'DICOM_UNSUPPORTED_TRANSFER_SYNTAX'
  | 'DICOM_CODEC_MISSING'
  | 'DICOM_GEOMETRY'
  // de-identification refused: the image has burned-in annotation (BurnedInAnnotation = YES) and it was not allowed
  | 'DEID_BURNED_IN'
  // a FHIR resource that is malformed, has a wrong or unknown unit, or a value outside its physiological range
  // (the message names the resource and the path)
  | 'FHIR_INVALID'
  // non-finite or degenerate geometry (a volume's spacing or origin, a mesh's coordinates)
  | 'GEOMETRY_INVALID'
  // meshes: inverted or degenerate elements, broken connectivity
  | 'MESH_INVALID'
  // a configured limit (memory estimate, step count, iterations, variants) that the input would exceed; the
  // message names the option that raises it
  | 'LIMIT_EXCEEDED'
  // solvers
  | 'SOLVER_DIVERGED'
  | 'SOLVER_NOT_CONVERGED'
  // the system has no unique solution (e.g. rigid-body modes left unconstrained)
  | 'SOLVER_SINGULAR'
  // GPU
  | 'GPU_UNAVAILABLE'
  | 'GPU_VALIDATION'
  | 'GPU_OUT_OF_MEMORY'
  | 'GPU_LIMIT_EXCEEDED'
  | 'GPU_DEVICE_LOST'
  // the device runs, but its arithmetic cannot do what the operation needs (e.g. double-float emulation)
  | 'GPU_UNSUPPORTED'
  // a worker (Web Worker, worker thread) died while running an operation: an uncaught error, an exit, out of memory
  | 'WORKER_CRASHED';

/** Where in the input a problem was found: a file, a DICOM tag, a JSON path, a byte offset. */
export interface ErrorLocation {
  file?: string;
  tag?: string;
  jsonPath?: string;
  offset?: number;
}

/**
 * The one error type physiotwin throws for bad input, unsupported data, solver failure or a missing GPU.
 *
 * @example
 * ```ts
 * try { readNifti(bytes); } catch (e) {
 *   if (e instanceof PhysiotwinError && e.code === 'IO_TRUNCATED') console.error(e.message);
 * }
 * ```
 */
export class PhysiotwinError extends Error {
  override readonly name = 'PhysiotwinError';
  readonly code: ErrorCode;
  readonly location: ErrorLocation | undefined;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    options: { location?: ErrorLocation; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(`${code}: ${message}${formatLocation(options.location)}`, { cause: options.cause });
    this.code = code;
    this.location = options.location;
    this.details = options.details;
  }
}

function formatLocation(loc: ErrorLocation | undefined): string {
  if (!loc) return '';
  const parts: string[] = [];
  if (loc.file !== undefined) parts.push(`file ${loc.file}`);
  if (loc.tag !== undefined) parts.push(`tag ${loc.tag}`);
  if (loc.jsonPath !== undefined) parts.push(`at ${loc.jsonPath}`);
  if (loc.offset !== undefined) parts.push(`byte ${loc.offset}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/**
 * True when `e` is a {@link PhysiotwinError}, optionally with the given code.
 * @throws nothing.
 */
export function isPhysiotwinError(e: unknown, code?: ErrorCode): e is PhysiotwinError {
  return e instanceof PhysiotwinError && (code === undefined || e.code === code);
}

/** The parts of a Node `fs.Stats` that {@link notRegularFileError} reads. */
export interface FileKind {
  isDirectory(): boolean;
  isFIFO(): boolean;
  isCharacterDevice(): boolean;
  isBlockDevice(): boolean;
  isSocket(): boolean;
}

/**
 * The `IO_INVALID` error for an input at `path` that is not a regular file (a folder, a FIFO, a device, a socket),
 * as `stat` or `fstat` found it: "expected <expected>, found a FIFO".
 * @throws nothing (it returns the error)
 * @example
 * ```ts
 * const st = fstatSync(fd);
 * if (!st.isFile()) throw notRegularFileError(st, path);
 * ```
 */
export function notRegularFileError(st: FileKind, path: string, expected = 'a regular file'): PhysiotwinError {
  const what = st.isDirectory() ? 'a folder' : st.isFIFO() ? 'a FIFO' : st.isCharacterDevice() || st.isBlockDevice() ? 'a device' : st.isSocket() ? 'a socket' : 'not a regular file';
  return new PhysiotwinError('IO_INVALID', `expected ${expected}, found ${what}`, { location: { file: path } });
}

/**
 * A failed read of the file at `path` (a Node file-system error) as a typed error: `IO_NOT_FOUND` (no such file, or
 * a parent that is not a folder), `IO_PERMISSION`, `IO_INVALID` (a folder, or any other failure: an I/O error, a file
 * over 2 GiB read whole). A PhysiotwinError passes through unchanged.
 * @throws nothing (it returns the error)
 * @example
 * ```ts
 * try { bytes = readFileSync(path); } catch (e) { throw fileReadError(e, path); }
 * ```
 */
export function fileReadError(e: unknown, path: string): PhysiotwinError {
  if (e instanceof PhysiotwinError) return e;
  const errno = (e as { code?: unknown } | undefined)?.code;
  const location = { file: path };
  if (errno === 'ENOENT' || errno === 'ENOTDIR') return new PhysiotwinError('IO_NOT_FOUND', 'no such file', { location, cause: e });
  if (errno === 'EACCES' || errno === 'EPERM') return new PhysiotwinError('IO_PERMISSION', `no permission to read it (${String(errno)})`, { location, cause: e });
  if (errno === 'EISDIR') return new PhysiotwinError('IO_INVALID', 'expected a file, found a folder', { location, cause: e });
  return new PhysiotwinError('IO_INVALID', `cannot read the file: ${e instanceof Error ? e.message : String(e)}`, { location, cause: e });
}
