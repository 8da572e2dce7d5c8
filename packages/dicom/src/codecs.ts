import { PhysiotwinError } from '@physiotwin/core';

/** What a WASM codec returns for one frame. */
export interface CodecFrame {
  width: number;
  height: number;
  bitsPerSample: number;
  components: number;
  signed: boolean;
  /** Decoded samples as little-endian bytes (1 byte per sample up to 8 bits, else 2), component-interleaved. */
  bytes: Uint8Array;
}

/** One frame for a codec worker (see `#codec-worker`), with its time limit. */
export interface CodecJob {
  codec: CodecName;
  /** The frame's codestream: a view of a whole ArrayBuffer is transferred to the worker (detached here), else copied. */
  frame: Uint8Array;
  /** File name, for the errors' location. */
  source: string;
  frameIndex: number;
  /** How errors name the frame, e.g. `frame 3 (512x512x1) of a.dcm`. */
  frameLabel: string;
  /** Time limit of the decode itself (the codec's one-time load is not counted), ms. */
  limitMs: number;
  /** How the limit was computed, for the error message. */
  limitText: string;
  signal?: AbortSignal | undefined;
}

/** Codec worker threads that decode frames with a time limit (Node; none in browsers). */
export interface CodecPool {
  /** Most frames decoded at once. */
  readonly size: number;
  /**
   * Decodes one frame in a worker. Past `limitMs` the worker is terminated (and replaced for later frames).
   * @throws PhysiotwinError `LIMIT_EXCEEDED` past the time limit, `ABORTED` when the signal fires, `WORKER_CRASHED`
   * when the worker dies, `DICOM_INVALID` when the codec rejects the frame, `DICOM_CODEC_MISSING`.
   */
  decode(job: CodecJob): Promise<CodecFrame>;
  /** Terminates every worker. */
  close(): void;
}

/** The cornerstone codec decoder classes share this shape (embind objects). */
export interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned?: boolean };
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}
/** Constructor of a codec's decoder class. */
export type DecoderCtor = new () => WasmDecoder;

/** The optional peer packages, one per codec family, with the entry that loads their WASM build. */
export type CodecName = 'jpegls' | 'j2k' | 'htj2k' | 'jpeg8';

/** A codec's package, its WASM entry (`entry`, what `load` imports: bundlers need the literal), its decoder class. */
export interface CodecSpec {
  pkg: string;
  entry: string;
  load: () => Promise<unknown>;
  ctor: string;
}

const CODECS: Record<CodecName, CodecSpec> = {
  jpegls: {
    pkg: '@cornerstonejs/codec-charls',
    entry: '@cornerstonejs/codec-charls/decodewasmjs',
    load: () => import('@cornerstonejs/codec-charls/decodewasmjs' as string),
    ctor: 'JpegLSDecoder',
  },
  j2k: {
    pkg: '@cornerstonejs/codec-openjpeg',
    entry: '@cornerstonejs/codec-openjpeg/decodewasmjs',
    load: () => import('@cornerstonejs/codec-openjpeg/decodewasmjs' as string),
    ctor: 'J2KDecoder',
  },
  htj2k: {
    pkg: '@cornerstonejs/codec-openjph',
    entry: '@cornerstonejs/codec-openjph/wasmjs',
    load: () => import('@cornerstonejs/codec-openjph/wasmjs' as string),
    ctor: 'HTJ2KDecoder',
  },
  jpeg8: {
    pkg: '@cornerstonejs/codec-libjpeg-turbo-8bit',
    entry: '@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
    load: () => import('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs' as string),
    ctor: 'JPEGDecoder',
  },
};

/**
 * The package, WASM entry and decoder class of a codec (the codec worker loads the entry itself).
 * @throws nothing.
 */
export function codecSpec(name: CodecName): CodecSpec {
  return CODECS[name];
}

const loaded = new Map<CodecName, Promise<DecoderCtor>>();

/**
 * The npm package that provides a codec (what `DICOM_CODEC_MISSING` tells the user to install).
 * @throws nothing.
 */
export function codecPackage(name: CodecName): string {
  return CODECS[name].pkg;
}

/**
 * Loads (once) and returns the decoder class of a codec. The emscripten factories find their `.wasm` next to
 * their JS file in Node 20 and in bundlers that copy it, so no locateFile is needed.
 * @throws PhysiotwinError `DICOM_CODEC_MISSING` naming the npm package when it is not installed or fails to load.
 */
export function loadCodec(name: CodecName): Promise<DecoderCtor> {
  let p = loaded.get(name);
  if (!p) {
    const spec = CODECS[name];
    p = (async () => {
      let factory: unknown;
      try {
        const mod = (await spec.load()) as { default?: unknown };
        factory = mod.default ?? mod;
      } catch (e) {
        throw new PhysiotwinError('DICOM_CODEC_MISSING', `decoding this transfer syntax needs the optional package ${spec.pkg}: npm install ${spec.pkg}`, {
          cause: e,
          details: { package: spec.pkg },
        });
      }
      // Emscripten prints codec chatter (OpenJPEG's "[INFO] ...") to stdout and stderr: silence it, so that a
      // CLI's JSON on stdout stays JSON. Failures still surface as exceptions from decode().
      const quiet = { print: () => undefined, printErr: () => undefined };
      const module = (await (factory as (m: object) => Promise<Record<string, unknown>>)(quiet)) as Record<string, unknown>;
      const ctor = module[spec.ctor];
      if (typeof ctor !== 'function') {
        throw new PhysiotwinError('DICOM_CODEC_MISSING', `${spec.pkg} loaded but has no ${spec.ctor}: install a compatible version`, {
          details: { package: spec.pkg },
        });
      }
      return ctor as DecoderCtor;
    })();
    // A failed load is retried next time (the user may install the package meanwhile).
    p.catch(() => loaded.delete(name));
    loaded.set(name, p);
  }
  return p;
}

/**
 * Decodes one encapsulated frame with a WASM codec. The result is copied out of WASM memory.
 * @throws PhysiotwinError `DICOM_CODEC_MISSING` when the codec package is absent, `DICOM_INVALID` when it rejects the data.
 */
export async function decodeWithCodec(name: CodecName, frame: Uint8Array, source: string): Promise<CodecFrame> {
  const Ctor = await loadCodec(name);
  const decoder = new Ctor();
  try {
    const input = decoder.getEncodedBuffer(frame.length);
    input.set(frame);
    try {
      decoder.decode();
    } catch (e) {
      // An emscripten abort leaves the module unusable: instantiate it afresh next time.
      loaded.delete(name);
      const msg = typeof e === 'number' ? `codec exception ${e}` : e instanceof Error ? e.message : String(e);
      throw new PhysiotwinError('DICOM_INVALID', `${CODECS[name].pkg} cannot decode the frame: ${msg}`, {
        location: { file: source, tag: '(7FE0,0010)' },
        cause: e,
      });
    }
    const info = decoder.getFrameInfo();
    const bytes = decoder.getDecodedBuffer().slice();
    return {
      width: info.width,
      height: info.height,
      bitsPerSample: info.bitsPerSample,
      components: info.componentCount,
      signed: info.isSigned ?? false,
      bytes,
    };
  } finally {
    decoder.delete();
  }
}
