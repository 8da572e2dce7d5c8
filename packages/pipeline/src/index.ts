export { runPipeline, stageKey, volumeHash, DEFAULT_TARGETS, LEAK_MAX_FRACTION, LEAK_MAX_MM3, STAGE_NAMES } from './pipeline.js';
export type { PipelineInput, PipelineTargets, PipelineOptions, PipelineArtefacts, PipelineResult, StageName, StageRecord } from './pipeline.js';
export { summarizeHemo } from './summary.js';
export type { HemoSummary, WaveformStats } from './summary.js';
export { reportHtml } from './report.js';
export { WALL_POISSON, WALL_YOUNGS_MODULUS_MPA } from './wall.js';
export type { WallResult } from './wall.js';
export { meshToSvg, threeViews } from './render.js';
export type { MeshPicture, View } from './render.js';
