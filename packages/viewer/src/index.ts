export { ORTHO_VIEWS, sliceAxes, viewCamera, cameraSlice, indexToWorldPoint, worldToIndexPoint, worldToVoxel, worldToCanvas, canvasToWorld, voxelToCanvas, canvasToVoxel } from './geometry.js';
export type { OrthoView, VolumeGeometry, ViewCamera, ViewZoom, CanvasSize, SliceAxes } from './geometry.js';
export { CT_PRESETS, windowRange, autoWindow } from './presets.js';
export type { WindowLevel, CtPresetName } from './presets.js';
export { colormapRgb, scalarRange, scalarsToRgb, cellToPointScalars } from './colormap.js';
// The FE wall's outer surface for the 3D view (moved to mesh so that workers, below the viewer, can run it too).
export { tetBoundarySurface } from '@physiotwin/mesh';
export { createViewer } from './viewer.js';
export type { Viewer, ViewerOptions, ViewerElements, ViewName, SurfaceStyle } from './viewer.js';
