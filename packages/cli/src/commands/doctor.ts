import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isPhysiotwinError } from '@physiotwin/core';
import { getSharedGpu } from '@physiotwin/gpu';
import type { Command } from '../command.js';
import { EXIT, printJson } from '../command.js';
import { VERSION } from '../version.js';

/** Optional peers that widen what physiotwin can do, and what each one is for. */
const OPTIONAL_PEERS: Record<string, string> = {
  webgpu: 'WebGPU in Node (Dawn)',
  '@sparticuz/chromium': 'SwiftShader software Vulkan for WebGPU without a GPU',
  '@cornerstonejs/codec-charls': 'DICOM JPEG-LS',
  '@cornerstonejs/codec-libjpeg-turbo-8bit': 'DICOM JPEG baseline',
  '@cornerstonejs/codec-openjpeg': 'DICOM JPEG 2000',
  '@cornerstonejs/codec-openjph': 'DICOM HTJ2K',
};

/** The installed version of `name`, or null when it cannot be resolved from here. */
function installedVersion(name: string): string | null {
  let path: string;
  try {
    path = fileURLToPath(import.meta.resolve(name));
  } catch {
    return null;
  }
  for (let dir = dirname(path); dirname(dir) !== dir; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (!existsSync(manifest)) continue;
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === name) return pkg.version ?? null;
  }
  return null;
}

/** Everything `physiotwin doctor --json` reports (a contract: keys are only ever added). */
export interface DoctorReport {
  physiotwin: string;
  node: string;
  platform: string;
  webgpu: {
    available: boolean;
    vendor: string | null;
    architecture: string | null;
    description: string | null;
    isFallback: boolean | null;
    source: string | null;
    error: { code: string; message: string } | null;
  };
  optional: Record<string, { installed: boolean; version: string | null; purpose: string }>;
}

export async function doctorReport(): Promise<DoctorReport> {
  let webgpu: DoctorReport['webgpu'];
  try {
    const gpu = await getSharedGpu();
    webgpu = { available: true, ...gpu.adapter, source: gpu.source, error: null };
  } catch (e) {
    if (!isPhysiotwinError(e)) throw e;
    webgpu = { available: false, vendor: null, architecture: null, description: null, isFallback: null, source: null, error: { code: e.code, message: e.message } };
  }
  const optional: DoctorReport['optional'] = {};
  for (const [name, purpose] of Object.entries(OPTIONAL_PEERS)) {
    const version = installedVersion(name);
    optional[name] = { installed: version !== null, version, purpose };
  }
  return { physiotwin: VERSION, node: process.version, platform: `${process.platform}-${process.arch}`, webgpu, optional };
}

export const doctor: Command = {
  name: 'doctor',
  summary: 'report the environment: Node, WebGPU adapter, optional codecs and peers',
  usage: '[--json]\n  --json  print the report as JSON',
  async run(args, io) {
    const { values } = parseArgs({ args, options: { json: { type: 'boolean', default: false } }, strict: true });
    const report = await doctorReport();
    if (values.json) {
      printJson(io, report);
      return EXIT.ok;
    }
    const w = report.webgpu;
    io.stdout(
      [
        `physiotwin ${report.physiotwin} on Node ${report.node} (${report.platform})`,
        w.available
          ? `WebGPU: ${w.description || w.architecture} (${w.vendor})${w.isFallback ? ' [software fallback: correct, not fast]' : ''}`
          : `WebGPU: unavailable: ${w.error?.message}`,
        ...Object.entries(report.optional).map(([n, o]) => `${o.installed ? 'ok     ' : 'missing'} ${n}${o.version ? ` ${o.version}` : ''}: ${o.purpose}`),
        '',
      ].join('\n'),
    );
    return EXIT.ok;
  },
};
