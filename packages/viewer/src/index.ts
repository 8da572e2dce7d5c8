export { ORTHO_VIEWS, sliceAxes, viewCamera, cameraSlice, indexToWorldPoint, worldToIndexPoint, worldToVoxel, worldToCanvas, canvasToWorld, voxelToCanvas, canvasToVoxel } from './geometry.js';
export type { OrthoView, VolumeGeometry, ViewCamera, ViewZoom, CanvasSize, SliceAxes } from './geometry.js';
export { CT_PRESETS, windowRange, autoWindow } from './presets.js';
export type { WindowLevel, CtPresetName } from './presets.js';
export { colormapRgb, scalarRange, scalarsToRgb, cellToPointScalars, tetBoundarySurface } from './colormap.js';
export { createViewer } from './viewer.js';
export type { Viewer, ViewerOptions, ViewerElements, ViewName, SurfaceStyle } from './viewer.js';
