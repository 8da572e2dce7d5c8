import type { VolumeData } from '@physiotwin/core';

/**
 * out[i] = 1 where lower <= data[i] <= upper (stored values), else 0; NaN is outside. Allocates nothing.
 */
export function thresholdCpu(data: VolumeData, lower: number, upper: number, out: Uint8Array): Uint8Array {
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    out[i] = v >= lower && v <= upper ? 1 : 0;
  }
  return out;
}
