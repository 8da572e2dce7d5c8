import { expect, it } from 'vitest';
import { createBufferFrom, createStorageBuffer, readBuffer, withGpuErrorScope } from './resources.js';
import { encodeScan, scanPipelines } from './scan.js';
import { describeBackends } from './testing.js';

describeBackends(
  'encodeScan',
  (b) => {
    // 1, 256 (one full block) and 256^2 + 1 (three levels: blocks of blocks, with a partial last block).
    it.each([1, 256, 65_537])('is the exclusive prefix sum of %i u32 and copies the total', async (count) => {
      const { device } = b.gpu();
      const values = new Uint32Array(count);
      for (let i = 0; i < count; i++) values[i] = (i * 2654435761) % 7;
      const expected = new Uint32Array(count);
      let sum = 0;
      for (let i = 0; i < count; i++) {
        expected[i] = sum;
        sum += values[i]!;
      }
      const owned: GPUBuffer[] = [];
      const data = createBufferFrom(device, values, GPUBufferUsage.STORAGE, 'scan-test:data');
      const total = createStorageBuffer(device, 8, 'scan-test:total');
      owned.push(data, total);
      try {
        const pipelines = await scanPipelines(device);
        await withGpuErrorScope(device, 'scan test', () => {
          const encoder = device.createCommandEncoder({ label: 'scan test' });
          encodeScan(device, encoder, pipelines, data, count, total, 4, owned);
          device.queue.submit([encoder.finish()]);
        });
        expect(new Uint32Array(await readBuffer(device, data, count * 4))).toEqual(expected);
        expect(new Uint32Array(await readBuffer(device, total, 8))[1]).toBe(sum);
      } finally {
        for (const buffer of owned) buffer.destroy();
      }
    });
  },
  { backends: ['webgpu'], reason: 'a GPU primitive: its CPU reference is the loop in the test' },
);
