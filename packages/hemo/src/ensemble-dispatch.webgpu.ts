import type { OperationOptions } from '@physiotwin/core';
import { withGpuErrorScope } from '@physiotwin/gpu';
import type { EnsembleDispatch } from './ensemble-schedule.js';
import { workTicker } from './progress.js';

/**
 * Submits an ensemble kernel's dispatches (the steady start, then one per cardiac cycle) one command buffer at a
 * time and waits for each before the next, checking for cancellation and reporting progress in between: the state
 * stays on the device and nothing is read back until the end, and an abort stops the run after the dispatch in
 * flight. `encode` records one dispatch.
 * @throws PhysiotwinError `GPU_VALIDATION`, `GPU_OUT_OF_MEMORY`, `ABORTED`
 */
export async function submitDispatches(
  device: GPUDevice,
  label: string,
  dispatches: readonly EnsembleDispatch[],
  n: number,
  encode: (encoder: GPUCommandEncoder, d: EnsembleDispatch) => void,
  options: OperationOptions,
): Promise<void> {
  const tick = workTicker(options, 'hemo/ensemble', dispatches.reduce((a, d) => a + d.steps, 0) * n);
  let done = 0;
  for (const d of dispatches) {
    await withGpuErrorScope(device, label, () => {
      const encoder = device.createCommandEncoder({ label });
      encode(encoder, d);
      device.queue.submit([encoder.finish()]);
    });
    await device.queue.onSubmittedWorkDone();
    done += d.steps * n;
    await tick(done);
  }
}
