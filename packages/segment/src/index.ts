// The public API of @physiotwin/segment: the operations, their options and results. Helpers shared between its
// modules (volume-utils.ts, *.cpu.ts, *.webgpu.ts) are internal.
export { threshold } from './threshold.js';
export type { MaskResult, ThresholdRange } from './threshold.js';
export { otsuThreshold, otsuMask } from './otsu.js';
export type { OtsuResult, OtsuSpec } from './otsu.js';
export { volumeStatistics, histogram } from './stats.js';
export type { Histogram, HistogramSpec, VolumeStatistics } from './stats.js';
export { connectedComponents, largestComponent, seedComponent } from './components.js';
export type { ComponentOptions, ComponentsResult } from './components.js';
export { connectedThreshold, confidenceConnected } from './region-growing.js';
export type { ConfidenceResult, ConfidenceSpec } from './region-growing.js';
export { adaptiveConnected } from './adaptive-connected.js';
export type { AdaptiveResult, AdaptiveSpec } from './adaptive-connected.js';
export { morphology, dilate, erode, opening, closing, fillHoles } from './morphology.js';
export type { MorphologyOperation, MorphologySpec } from './morphology.js';
export { anisotropicDiffusion, diffusionStabilityLimit } from './diffusion.js';
export type { DiffusionSpec, FilterResult } from './diffusion.js';
export { autoVesselParams } from './vessel-auto.js';
export type { AutoVesselParams } from './vessel-auto.js';
export type { Connectivity, Labelmap, Mask } from './volume-utils.js';
export { squaredDistanceCpu } from './morphology.cpu.js';
export { checkSeeds } from './volume-utils.js';
export { refineMask, segmentVessel, segmentRange } from './pipeline.js';
export type { RefineSpec, PipelineStep, PipelineMaskResult, VesselSpec, VesselResult, RangeSpec } from './pipeline.js';
