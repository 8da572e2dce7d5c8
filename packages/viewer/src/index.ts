export { ORTHO_VIEWS, sliceAxes, viewCamera, cameraSlice, indexToWorldPoint, worldToIndexPoint, worldToVoxel, worldToCanvas, canvasToWorld, voxelToCanvas, canvasToVoxel } from './geometry.js';
export type { OrthoView, VolumeGeometry, ViewCamera, CanvasSize, SliceAxes } from './geometry.js';
