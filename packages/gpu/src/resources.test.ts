import { describe, expect, it } from 'vitest';
import { checkBindingSize, checkBindingSizes } from './index.js';

// Only the limits are read: a stub device with small ones shows which limit applies.
const device = { limits: { maxStorageBufferBindingSize: 1024, maxBufferSize: 768 } } as unknown as GPUDevice;

describe('checkBindingSize', () => {
  it('accepts a binding up to the smaller of the binding and buffer limits', () => {
    expect(() => checkBindingSize(device, 768, 'k:a')).not.toThrow();
  });
  it('rejects a larger one with GPU_LIMIT_EXCEEDED naming the binding and the limit', () => {
    expect(() => checkBindingSize(device, 769, 'k:a')).toThrow(expect.objectContaining({ code: 'GPU_LIMIT_EXCEEDED', message: expect.stringMatching(/k:a needs a 769-byte storage binding; this device allows 768/) }));
  });
  it('checkBindingSizes names the first binding of a kernel that does not fit', () => {
    expect(() => checkBindingSizes(device, 'hemo/x', { state: 100, stats: 4000, status: 5000 })).toThrow(expect.objectContaining({ code: 'GPU_LIMIT_EXCEEDED', message: expect.stringMatching(/hemo\/x:stats needs/) }));
  });
});
