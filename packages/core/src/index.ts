export * from './errors.js';
export * from './progress.js';
export * from './volume.js';
export * from './mesh.js';
export * from './rng.js';
export * from './units.js';
export * from './manifest.js';
export * from './polyline.js';
