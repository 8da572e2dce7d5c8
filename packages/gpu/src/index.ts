export { requestGpu, getSharedGpu, releaseSharedGpu, describeAdapter, SHARED_GPU_KEY } from './device.js';
export type { AdapterDescription, GpuContext, GpuSource, RequestGpuOptions, SharedGpuSlot } from './device.js';
export { createBufferFrom, createStorageBuffer, createUniformBuffer, readBuffer, checkBindingSize, checkBindingSizes, withGpuErrorScope, getComputePipeline } from './resources.js';
export type { KernelSpec } from './resources.js';
export { timeGpuWork } from './timing.js';
export type { GpuTiming } from './timing.js';
export { chooseBackend, backendReport, F32_EXACT_DTYPES, GPU_WORK_FLOOR } from './backend.js';
export type { Backend, BackendReport, ComputeOptions, GpuProblem, ResolvedBackend } from './backend.js';
export { ceilF32, floorF32, dispatch2d, WORKGROUP, uploadValuesF32, uploadMaskU32, bindAll, bindEntries, unpackMask } from './kernels.js';
export { encodeScan, scanPipelines } from './scan.js';
export type { ScanPipelines } from './scan.js';

