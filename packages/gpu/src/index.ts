export * from './device.js';
export * from './resources.js';
export * from './timing.js';
export * from './backend.js';
