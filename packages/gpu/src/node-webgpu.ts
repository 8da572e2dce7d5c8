// Node-only: WebGPU through Dawn (the optional `webgpu` package), on the system's GPU or on SwiftShader.
// Imported lazily by device.ts, so browser bundles never load node: modules.
import { closeSync, constants as fsConstants, existsSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import { PhysiotwinError } from '@physiotwin/core';

type DawnModule = { create(options: string[]): GPU; globals: object };

/** A directory holding `libvk_swiftshader.so`, `vk_swiftshader_icd.json` and usually `libvulkan.so.1`. */
export interface SwiftShaderLocation {
  dir: string;
  from: 'env' | 'debian-chromium' | '@sparticuz/chromium';
}

const HOW_TO =
  'install the optional peer "webgpu" (npm install webgpu) and a SwiftShader source: ' +
  '"npm install @sparticuz/chromium" or "apt-get install chromium"; or set PHYSIOTWIN_SWIFTSHADER_DIR; or use backend "cpu"';

/** glibc's RTLD_NODELETE; Node's os.constants.dlopen does not list it. */
const RTLD_NODELETE = 0x1000;

async function loadDawn(): Promise<DawnModule> {
  try {
    return (await import('webgpu')) as unknown as DawnModule;
  } catch (e) {
    throw new PhysiotwinError('GPU_UNAVAILABLE', `the "webgpu" package could not be loaded (${(e as Error).message}): ${HOW_TO}`, { cause: e });
  }
}

function resolveFrom(specifier: string): string | undefined {
  for (const base of [import.meta.url, pathToFileURL(join(process.cwd(), 'index.js')).href]) {
    try {
      return createRequire(base).resolve(specifier);
    } catch {
      // Not resolvable from this base; try the next one.
    }
  }
  return undefined;
}

function hasSwiftShader(dir: string): boolean {
  return existsSync(join(dir, 'libvk_swiftshader.so')) && existsSync(join(dir, 'vk_swiftshader_icd.json'));
}

/** Extracts the regular files of a ustar archive into `dir`. */
function untar(tar: Uint8Array, dir: string): void {
  const text = new TextDecoder();
  const field = (off: number, len: number) => text.decode(tar.subarray(off, off + len)).replace(/\0.*$/s, '');
  let off = 0;
  while (off + 512 <= tar.length && tar[off] !== 0) {
    const name = field(off, 100);
    const size = parseInt(field(off + 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(tar[off + 156] ?? 48);
    const body = off + 512;
    if ((type === '0' || type === '\0') && !name.includes('..') && !name.startsWith('/')) {
      const target = join(dir, name);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, tar.subarray(body, body + size), { mode: 0o755 });
    }
    off = body + Math.ceil(size / 512) * 512;
  }
}

/**
 * Finds SwiftShader: `PHYSIOTWIN_SWIFTSHADER_DIR`, then Debian's chromium (/usr/lib/chromium), then the
 * `@sparticuz/chromium` package (its bin/swiftshader.tar.br is unpacked once into the temp directory).
 * @throws nothing: undefined when no SwiftShader is found.
 */
export function locateSwiftShader(): SwiftShaderLocation | undefined {
  const env = process.env.PHYSIOTWIN_SWIFTSHADER_DIR;
  if (env && hasSwiftShader(env)) return { dir: env, from: 'env' };
  if (hasSwiftShader('/usr/lib/chromium')) return { dir: '/usr/lib/chromium', from: 'debian-chromium' };
  const main = resolveFrom('@sparticuz/chromium');
  if (!main) return undefined;
  // Walk up to the package root: nested package.json files (build/cjs) only carry "type".
  let root = dirname(main);
  let version: string | undefined;
  for (; dirname(root) !== root; root = dirname(root)) {
    const manifest = join(root, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@sparticuz/chromium') {
      version = pkg.version;
      break;
    }
  }
  const archive = join(root, 'bin', 'swiftshader.tar.br');
  if (!version || !existsSync(archive)) return undefined;
  const dir = join(tmpdir(), `physiotwin-swiftshader-${version}`);
  if (!hasSwiftShader(dir)) {
    // Unpack beside the target and rename, so concurrent processes never see a half-written directory.
    const staging = `${dir}.${process.pid}.tmp`;
    rmSync(staging, { recursive: true, force: true });
    mkdirSync(staging, { recursive: true });
    untar(brotliDecompressSync(readFileSync(archive)), staging);
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true });
      if (!hasSwiftShader(dir)) return undefined;
    }
  }
  return { dir, from: '@sparticuz/chromium' };
}

/**
 * Points the Vulkan loader at SwiftShader. VK_ICD_FILENAMES is read when Dawn creates its Vulkan
 * instance; a loader shipped beside SwiftShader is loaded now with RTLD_NODELETE so that Dawn's later
 * dlopen("libvulkan.so.1") finds it by soname, since LD_LIBRARY_PATH is only read at process start.
 * A driver list the user set already (VK_ICD_FILENAMES / VK_DRIVER_FILES) is kept.
 */
function activateSwiftShader(loc: SwiftShaderLocation): void {
  if (!process.env.VK_ICD_FILENAMES && !process.env.VK_DRIVER_FILES) {
    const icd = join(loc.dir, 'vk_swiftshader_icd.json');
    process.env.VK_ICD_FILENAMES = icd;
    process.env.VK_DRIVER_FILES = icd;
  }
  const loader = join(loc.dir, 'libvulkan.so.1');
  if (existsSync(loader)) {
    try {
      process.dlopen({ exports: {} }, loader, 2 /* RTLD_NOW */ | 256 /* RTLD_GLOBAL */ | RTLD_NODELETE);
    } catch {
      // Expected: it is a shared library, not a Node addon ("did not self-register"); it stays loaded.
    }
  }
}

let swiftShaderActive = false;

/**
 * Opens another descriptor on what descriptor `fd` writes to (Node has no dup), write-only and blocking as stderr
 * is; undefined when that is impossible or could block: a pipe whose reader has gone (a FIFO opened for writing
 * without a reader blocks forever, hence the non-blocking probe first).
 */
function reopenForWriting(fd: number): number | undefined {
  const path = `/proc/self/fd/${fd}`;
  const { O_WRONLY, O_NONBLOCK, O_NOCTTY } = fsConstants;
  try {
    closeSync(openSync(path, O_WRONLY | O_NONBLOCK | O_NOCTTY));
    return openSync(path, O_WRONLY | O_NOCTTY);
  } catch {
    return undefined;
  }
}

/**
 * Runs `call` (a synchronous call into Dawn: instance creation, the synchronous part of requestAdapter, where the
 * Vulkan loader, the drivers and Dawn print their diagnostics: "Couldn't load Vulkan", Mesa's "XDG_RUNTIME_DIR is
 * invalid or not set", Dawn's "shaderUniform*ArrayDynamicIndexing" warning) with the process's stderr (fd 2)
 * pointed at /dev/null, so those lines do not reach a user's terminal. They come from C and C++ (fprintf), so
 * only fd 2 itself can silence them; Node has no dup2, so fd 2 is closed and reopened (the lowest free descriptor
 * is 2 again), then pointed back at the original through /proc/self/fd. Done only where that is exact: Linux,
 * stderr a terminal or a pipe (a log file keeps them: a reopened file would not share its offset with stdout),
 * and not with PHYSIOTWIN_GPU_LOG=show (`physiotwin --verbose`). No JavaScript runs while fd 2 is redirected.
 * @throws what `call` throws (fd 2 is restored first)
 */
export function quietNativeStderr<T>(call: () => T): T {
  if (process.platform !== 'linux' || process.env.PHYSIOTWIN_GPU_LOG === 'show') return call();
  let saved: number | undefined;
  try {
    // fd 0 and 1 must be open, so that the lowest free descriptor after closing 2 is 2.
    fstatSync(0);
    fstatSync(1);
    const kind = fstatSync(2);
    if (kind.isCharacterDevice() || kind.isFIFO()) saved = reopenForWriting(2);
  } catch {
    // A standard descriptor is closed: leave them alone.
  }
  if (saved === undefined) return call();
  closeSync(2);
  if (openSync('/dev/null', 'w') !== 2) {
    // Another thread took fd 2 between the close and the open: nothing can be restored exactly; let it be.
    closeSync(saved);
    return call();
  }
  try {
    return call();
  } finally {
    closeSync(2);
    // Back on the original; should its reader have gone meanwhile, stderr stays on /dev/null (writes would fail).
    reopenForWriting(saved) ?? openSync('/dev/null', 'w');
    closeSync(saved);
  }
}

/**
 * False on Linux when no Vulkan loader (libvulkan.so.1) can be opened: Dawn then has no backend for a system GPU
 * (its OpenGL ES adapters are compatibility-mode only), and trying costs only its "Couldn't load Vulkan" warning.
 * Loaded with RTLD_NODELETE, as Dawn would load it next.
 */
function hasSystemVulkan(): boolean {
  if (process.platform !== 'linux') return true;
  try {
    process.dlopen({ exports: {} }, 'libvulkan.so.1', 2 /* RTLD_NOW */ | RTLD_NODELETE);
  } catch (e) {
    // A shared library that is not a Node addon loads, then fails with "did not self-register".
    return !/cannot open shared object file/i.test((e as Error).message);
  }
  return true;
}

/**
 * Finds an adapter in Node: the system GPU first (unless told otherwise), then SwiftShader.
 * @throws PhysiotwinError `GPU_UNAVAILABLE` when WebGPU is switched off, or neither a GPU nor SwiftShader gives an adapter.
 */
export async function requestNodeAdapter(
  powerPreference: GPUPowerPreference,
  preference: 'auto' | 'swiftshader' | 'off',
): Promise<{ adapter: GPUAdapter; source: 'node' | 'node-swiftshader'; instance: GPU }> {
  const mode = (process.env.PHYSIOTWIN_WEBGPU as typeof preference | undefined) ?? preference;
  if (mode === 'off') throw new PhysiotwinError('GPU_UNAVAILABLE', 'WebGPU is switched off (PHYSIOTWIN_WEBGPU=off); use backend "cpu"');
  const dawn = await loadDawn();
  // Dawn's objects rely on these globals (GPUBufferUsage, GPUMapMode, ...).
  Object.assign(globalThis, dawn.globals);
  // The GPU instance must stay reachable for as long as its devices live: Dawn's event loop keeps a raw
  // pointer to it, and once V8 collects the JavaScript object the next ProcessEvents runs on freed memory
  // (crashes in CallbackTaskManager::Flush after any awaited mapAsync / onSubmittedWorkDone / popErrorScope).
  if (mode === 'auto' && !swiftShaderActive && hasSystemVulkan()) {
    const instance = quietNativeStderr(() => dawn.create([]));
    const adapter = await quietNativeStderr(() => instance.requestAdapter({ powerPreference }));
    if (adapter) return { adapter, source: 'node', instance };
  }
  const loc = locateSwiftShader();
  if (!loc) throw new PhysiotwinError('GPU_UNAVAILABLE', `no GPU adapter and no SwiftShader found: ${HOW_TO}`);
  activateSwiftShader(loc);
  swiftShaderActive = true;
  const instance = quietNativeStderr(() => dawn.create([]));
  const adapter = await quietNativeStderr(() => instance.requestAdapter({ powerPreference }));
  if (!adapter) {
    throw new PhysiotwinError('GPU_UNAVAILABLE', `SwiftShader in ${loc.dir} (${loc.from}) gave no adapter; ${HOW_TO}`, { details: { ...loc } });
  }
  return { adapter, source: 'node-swiftshader', instance };
}
