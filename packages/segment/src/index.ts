export * from './stats.js';
export * from './volume-utils.js';
export * from './threshold.js';
export * from './components.js';
export * from './morphology.js';
export * from './region-growing.js';
export * from './gpu-volume.js';
export * from './otsu.js';
