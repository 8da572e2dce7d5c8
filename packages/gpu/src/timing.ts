import type { GpuContext } from './device.js';
import { readBuffer } from './resources.js';

/** How long a piece of GPU work took. */
export interface GpuTiming {
  /** Wall-clock milliseconds from submit until `onSubmittedWorkDone` resolved. */
  wallMs: number;
  /** Milliseconds between the first pass's start and the last pass's end by GPU timestamps, if available. */
  gpuMs?: number | undefined;
}

/**
 * Encodes work with `encode`, submits it and measures it. `encode` receives `timestampWrites` for its
 * compute passes (one pair per pass index) when the device has `timestamp-query`; use them on every
 * pass: `encoder.beginComputePass({ timestampWrites: tw(i) })`.
 * @throws whatever `encode` throws; PhysiotwinError `GPU_DEVICE_LOST` if reading the timestamps back fails.
 */
export async function timeGpuWork(
  gpu: GpuContext,
  passes: number,
  encode: (encoder: GPUCommandEncoder, timestampWrites: (pass: number) => GPUComputePassTimestampWrites | undefined) => void,
): Promise<GpuTiming> {
  const { device } = gpu;
  const querySet = gpu.hasTimestamps ? device.createQuerySet({ label: 'timing', type: 'timestamp', count: 2 * passes }) : undefined;
  const encoder = device.createCommandEncoder({ label: 'timed work' });
  encode(encoder, (pass) =>
    querySet ? { querySet, beginningOfPassWriteIndex: 2 * pass, endOfPassWriteIndex: 2 * pass + 1 } : undefined,
  );
  let resolve: GPUBuffer | undefined;
  if (querySet) {
    resolve = device.createBuffer({ label: 'timing:resolve', size: 16 * passes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
    encoder.resolveQuerySet(querySet, 0, 2 * passes, resolve, 0);
  }
  const start = performance.now();
  device.queue.submit([encoder.finish()]);
  await device.queue.onSubmittedWorkDone();
  const wallMs = performance.now() - start;
  let gpuMs: number | undefined;
  if (resolve && querySet) {
    const stamps = new BigUint64Array(await readBuffer(device, resolve));
    const first = stamps[0]!;
    const last = stamps[2 * passes - 1]!;
    if (last > first) gpuMs = Number(last - first) / 1e6;
    resolve.destroy();
    querySet.destroy();
  }
  return { wallMs, gpuMs };
}
