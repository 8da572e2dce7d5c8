// Node-only: WebGPU through Dawn (the optional `webgpu` package), on the system's GPU or on SwiftShader.
// Imported lazily by device.ts, so browser bundles never load node: modules.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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
  if (mode === 'auto' && !swiftShaderActive) {
    const instance = dawn.create([]);
    const adapter = await instance.requestAdapter({ powerPreference });
    if (adapter) return { adapter, source: 'node', instance };
  }
  const loc = locateSwiftShader();
  if (!loc) throw new PhysiotwinError('GPU_UNAVAILABLE', `no GPU adapter and no SwiftShader found: ${HOW_TO}`);
  activateSwiftShader(loc);
  swiftShaderActive = true;
  const instance = dawn.create([]);
  const adapter = await instance.requestAdapter({ powerPreference });
  if (!adapter) {
    throw new PhysiotwinError('GPU_UNAVAILABLE', `SwiftShader in ${loc.dir} (${loc.from}) gave no adapter; ${HOW_TO}`, { details: { ...loc } });
  }
  return { adapter, source: 'node-swiftshader', instance };
}
