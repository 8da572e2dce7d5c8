export * from './parse.js';
export * from './pixels.js';
export { decodeRle } from './rle.js';
export { decodeJpegLossless } from './jpeg-lossless.js';
export type { LosslessImage } from './jpeg-lossless.js';
export { loadCodec, codecPackage } from './codecs.js';
export type { CodecName } from './codecs.js';
