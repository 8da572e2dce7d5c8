// The page's small helper worker: what the page needs to know before a run (the pipeline's stage names, the WebGPU
// adapter a worker sees, the dyn/cm^2 -> mmHg factor), reading volume files (.mha, .nii, .nii.gz) and cutting the FE
// wall's outer surface out of its tet mesh, so neither the pipeline's code nor these passes run on the main thread. DICOM and the pipeline run in @physiotwin/workers.
import { conversionFactor, isPhysiotwinError } from '@physiotwin/core';
import { readVolume } from '@physiotwin/io';
import { STAGE_NAMES } from '@physiotwin/pipeline';
import { tetBoundarySurface } from '@physiotwin/viewer';
import type { HelperReply, HelperRequest, Info, LoadedInput, WireError } from './protocol.js';

interface WorkerScope {
  postMessage(message: HelperReply, options?: { transfer?: Transferable[] }): void;
  addEventListener(type: 'message', listener: (e: MessageEvent<HelperRequest>) => void): void;
}
const scope = self as unknown as WorkerScope;

function wireError(e: unknown): WireError {
  if (isPhysiotwinError(e)) return { code: e.code, message: e.message };
  return { code: 'INTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** The adapter a worker gets (what the pipeline's 'auto' and 'webgpu' use); no device is created. */
async function info(): Promise<Info> {
  const base = { stages: [...STAGE_NAMES], dynPerCm2ToMmHg: conversionFactor('dyn/cm^2', 'mmHg') };
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { ...base, available: false, reason: 'navigator.gpu is missing in workers of this browser' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { ...base, available: false, reason: 'navigator.gpu returned no adapter' };
    const i = adapter.info;
    return { ...base, available: true, adapter: [i.vendor, i.architecture, i.description].filter(Boolean).join(' ') + (i.isFallbackAdapter ? ' (software)' : '') };
  } catch (e) {
    return { ...base, available: false, reason: wireError(e).message };
  }
}

scope.addEventListener('message', (e) => {
  const req = e.data;
  const work = async (): Promise<{ value: unknown; transfer: Transferable[] }> => {
    if (req.op === 'info') return { value: await info(), transfer: [] };
    if (req.op === 'wallSurface') {
      // The outer wall (the face label named 'outer') when the mesh names it, else its whole boundary; stress in kPa.
      const { mesh, nodalVonMisesMpa } = req;
      const kPa = new Float32Array(nodalVonMisesMpa.length);
      for (let i = 0; i < kPa.length; i++) kPa[i] = nodalVonMisesMpa[i]! * 1000;
      const outer = Object.entries(mesh.boundaryLabelNames ?? {}).filter(([, n]) => n === 'outer').map(([k]) => Number(k));
      const wall = tetBoundarySurface(mesh, { name: 'vonMisesKPa', values: kPa }, outer.length ? outer : undefined);
      const vonMisesKPa = wall.pointData!.vonMisesKPa!.values as Float32Array;
      return { value: { positions: wall.positions, triangles: wall.triangles, vonMisesKPa }, transfer: [wall.positions.buffer, wall.triangles.buffer, vonMisesKPa.buffer] };
    }
    const volume = readVolume(new Uint8Array(req.bytes), { name: req.name });
    const value: LoadedInput = { name: req.name, volume };
    return { value, transfer: [volume.data.buffer] };
  };
  work().then(
    ({ value, transfer }) => scope.postMessage({ id: req.id, kind: 'ok', value }, { transfer }),
    (err: unknown) => scope.postMessage({ id: req.id, kind: 'error', error: wireError(err) }),
  );
});
