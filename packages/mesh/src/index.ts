// The public API of @physiotwin/mesh: the operations, their options and results. Surface file formats live in
// @physiotwin/io.
export { marchingCubes } from './marching-cubes.js';
export type { IsosurfaceSpec, SurfaceResult } from './marching-cubes.js';
export { EDGE_CLAMP } from './marching-cubes.cpu.js';
export { surfaceNets } from './surface-nets.js';
export type { SurfaceNetsSpec } from './surface-nets.js';
export { smoothTaubin } from './smooth.js';
export type { TaubinSpec } from './smooth.js';
export { decimate } from './decimate.js';
export type { DecimateSpec } from './decimate.js';
export { cleanMesh } from './clean.js';
export type { CleanSpec } from './clean.js';
export { meshQuality } from './quality.js';
export type { MeshQuality } from './quality.js';
export { extractCenterlines, centerlinesToPolylines } from './centerline.js';
export type { CenterlineOptions, CenterlineBranch, Centerlines } from './centerline.js';
export { surfaceFromVolume } from './surface-pipeline.js';
export type { SurfacePipelineSpec, SurfacePipelineResult } from './surface-pipeline.js';
export { toQuadraticTets } from './tet-quadratic.js';
export type { ToQuadraticOptions } from './tet-quadratic.js';
export { tetQuality } from './tet-quality.js';
export { tetBoundarySurface } from './tet-boundary.js';
export type { TetQuality } from './tet-quality.js';
export { labelPairTag, tetMeshLabels } from './tet-labels.js';
export type { TetMeshLabelsSpec, TetMeshResult } from './tet-labels.js';
export type { EdgeSnap } from './tet-fields.js';
export { vesselWall, WALL_TAG_LUMEN, WALL_TAG_OUTER, WALL_TAG_FIRST_END } from './vessel-wall.js';
export type { VesselWallSpec, WallEnd, VesselWallResult } from './vessel-wall.js';
