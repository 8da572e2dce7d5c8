export { createWorker } from './client.js';
export type { CallOptions, PhysiotwinWorker, WorkerOptions, WorkerState } from './client.js';
export { createWorkerPool } from './pool.js';
export type { PoolTask, WorkerPool, WorkerPoolOptions } from './pool.js';
export type { BoundaryMesh, DicomFile, PipelineCallOptions, VolumeFile } from './api.js';
export type { PipelineSummary, SeriesHandle, SeriesSummary, WorkerInfo, WorkerPipelineResult, WorkerScan, WorkerWall } from './protocol.js';
export type { NodeWorkerLike, ResourceLimits, WorkerLike } from './spawn-types.js';
