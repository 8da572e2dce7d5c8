// Test helper (excluded from the build): reads fixtures/mesh/vtkjs-headsq.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { Mat3, Vec3, Volume } from '@physiotwin/core';
import { createVolume } from '@physiotwin/core';

/** Reads the vtk.js HttpDataSetReader layout of fixtures/mesh/vtkjs-headsq (index.json + gzip raw int16). */
export function readHeadsq(): Volume<Int16Array> {
  const dir = new URL('../../../fixtures/mesh/vtkjs-headsq/', import.meta.url);
  const index = JSON.parse(readFileSync(new URL('index.json', dir), 'utf8')) as {
    spacing: number[]; origin: number[]; direction: number[]; extent: number[];
    pointData: { arrays: Array<{ data: { ref: { id: string; encode: string } } }> };
  };
  const ref = index.pointData.arrays[0]!.data.ref;
  const raw = gunzipSync(readFileSync(new URL(`data/${ref.id}.gz`, dir)));
  const data = new Int16Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const e = index.extent;
  const dims: Vec3 = [e[1]! - e[0]! + 1, e[3]! - e[2]! + 1, e[5]! - e[4]! + 1];
  // vtk.js direction: the first triple is the i axis, i.e. column-major as core's Mat3.
  return createVolume({ data, dims, spacing: index.spacing as Vec3, origin: index.origin as Vec3, direction: index.direction as Mat3 });
}

