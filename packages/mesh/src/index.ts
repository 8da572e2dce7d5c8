export * from './marching-cubes.js';
export { EDGE_CLAMP, type MarchingCubesInput } from './marching-cubes.cpu.js';
export * from './quality.js';
export * from './writers.js';
export * from './smooth.js';
export * from './decimate.js';
export * from './clean.js';
export * from './surface-nets.js';
export * from './tet-quadratic.js';
