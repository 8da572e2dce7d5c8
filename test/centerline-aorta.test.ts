import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '@physiotwin/cli';
import { conversionFactor } from '@physiotwin/core';
import { parseResultTable, zeroDModelFromCenterlines } from '@physiotwin/hemo';
import { readVolumeFile } from '@physiotwin/io/node';
import { extractCenterlines, type Centerlines } from '@physiotwin/mesh';

const LUMEN = join(__dirname, '../fixtures/mesh/vmtk-aorta/aorta-lumen.nii.gz');

// The `segment --auto` labelmap of the VMTK aorta CT (fixtures/mesh/vmtk-aorta/make-aorta-lumen.ts), with the
// seeds VMTK's tests use: inside the aorta and inside each common iliac artery (fixtures/mesh/README.md).
describe('centerlines of the VMTK aorta', () => {
  let mask: Awaited<ReturnType<typeof readVolumeFile>>;
  let c: Centerlines;
  let ms = 0;
  beforeAll(async () => {
    mask = await readVolumeFile(LUMEN);
    const t0 = performance.now();
    c = extractCenterlines(mask, { label: 1 });
    ms = performance.now() - t0;
  });

  it('follow the aorta from its proximal cut into both common iliacs: three branches from one bifurcation', () => {
    // continuous voxel index of each point (the inverse of origin + direction diag(spacing) ijk)
    const D = mask.direction, O = mask.origin, S = mask.spacing;
    const index = (p: number) => [0, 1, 2].map((a) => ((c.points[3 * p]! - O[0]) * D[3 * a]! + (c.points[3 * p + 1]! - O[1]) * D[3 * a + 1]! + (c.points[3 * p + 2]! - O[2]) * D[3 * a + 2]!) / S[a]!);
    const nearestBranch = (seed: number[]) => {
      let best = -1, bestD = Infinity;
      for (let p = 0; p < c.radius.length; p++) {
        const q = index(p);
        const d = Math.hypot((q[0]! - seed[0]!) * S[0], (q[1]! - seed[1]!) * S[1], (q[2]! - seed[2]!) * S[2]);
        if (d < bestD) (best = p, bestD = d);
      }
      return { branch: c.branchId[best]!, distance: bestD };
    };
    const aorta = nearestBranch([71, 213, 16]);
    const left = nearestBranch([58, 78, 22]);
    const right = nearestBranch([96, 78, 21]);
    // Each seed lies within the vessel's radius of the centerline.
    for (const s of [aorta, left, right]) expect(s.distance).toBeLessThan(c.radius[c.branches[s.branch]!.start]!);
    // The aorta's branch ends at a bifurcation; its two children lead to the two iliac seeds' branches.
    const ancestors = (b: number): number[] => (b < 0 ? [] : [b, ...ancestors(c.branches[b]!.parent)]);
    const bifurcation = c.branches[aorta.branch]!;
    expect(bifurcation.endsAtOutlet).toBe(false);
    const leftChild = bifurcation.children.find((k) => ancestors(left.branch).includes(k));
    const rightChild = bifurcation.children.find((k) => ancestors(right.branch).includes(k));
    expect(leftChild).toBeDefined();
    expect(rightChild).toBeDefined();
    expect(leftChild).not.toBe(rightChild);
    // The aorta starts at the inlet: its cut at the top of the image (j = 392), the widest end.
    expect(c.inletVoxel[1]).toBeGreaterThan(380);
    // Radii against VMTK's centerline of this scan over j = 87..172 (fixtures/mesh/README.md: 7.2 mm in the aorta,
    // 4.2-4.4 mm in the common iliacs, from VMTK's own surface, which lies about 0.24 mm outside our lumen).
    const median = (b: number) => {
      const r: number[] = [];
      for (let p = c.branches[b]!.start; p < c.branches[b]!.start + c.branches[b]!.count; p++) {
        const j = index(p)[1]!;
        if (j >= 87 && j <= 172) r.push(c.radius[p]!);
      }
      return r.sort((x, y) => x - y)[r.length >> 1]!;
    };
    const radii = { aorta: median(aorta.branch), left: median(leftChild!), right: median(rightChild!) };
    console.info(`aorta centerlines: ${c.branches.length} branches, ${c.radius.length} points in ${ms.toFixed(0)} ms; median radius over j = 87..172: aorta ${radii.aorta.toFixed(2)} mm, iliacs ${radii.left.toFixed(2)} / ${radii.right.toFixed(2)} mm`);
    expect(Math.abs(radii.aorta / 7.2 - 1)).toBeLessThan(0.1);
    for (const r of [radii.left, radii.right]) expect(Math.abs(r / 4.3 - 1)).toBeLessThan(0.1);
  });

  it('give a 0D model that `physiotwin hemo run` runs on target: mean pressure, cardiac output, flow conserved', async () => {
    const t0 = performance.now();
    const model = await zeroDModelFromCenterlines(c);
    const buildMs = performance.now() - t0;
    const dir = mkdtempSync(join(tmpdir(), 'physiotwin-aorta-0d-'));
    try {
      writeFileSync(join(dir, 'model.json'), JSON.stringify(model.config));
      const io = { out: '', err: '', isTTY: false, cwd: dir, stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) };
      expect(await runCli(['hemo', 'run', 'model.json', '-o', 'result.csv'], io), io.err).toBe(0);
      const table = parseResultTable(readFileSync(join(dir, 'result.csv'), 'utf8'));
      const rows = new Map<string, number[]>();
      table.name.forEach((n, i) => rows.set(n, [...(rows.get(n) ?? []), i]));
      const mean = (name: string, column: string) => {
        const r = rows.get(name)!, t = table.time, v = table.values[column]!;
        let integral = 0;
        for (let k = 1; k < r.length; k++) integral += 0.5 * (v[r[k]!]! + v[r[k - 1]!]!) * (t[r[k]!]! - t[r[k - 1]!]!);
        return integral / (t[r.at(-1)!]! - t[r[0]!]!);
      };
      const vessels = model.config.vessels as { vessel_name: string; boundary_conditions?: { inlet?: string } }[];
      const inlet = vessels.find((v) => v.boundary_conditions?.inlet)!.vessel_name;
      const pressure = mean(inlet, 'pressure_in') / conversionFactor('mmHg', 'dyn/cm^2');
      const output = mean(inlet, 'flow_in') * conversionFactor('mL/s', 'L/min');
      // flow conservation at every junction and output time, relative to the mean inflow
      const scale = 5 * conversionFactor('L/min', 'mL/s');
      let worst = 0;
      for (const j of model.config.junctions as { inlet_vessels: number[]; outlet_vessels: number[] }[]) {
        const rowsOf = (id: number) => rows.get(vessels[id]!.vessel_name)!;
        for (let k = 0; k < rowsOf(j.inlet_vessels[0]!).length; k++) {
          const q = (ids: number[], column: string) => ids.reduce((s, id) => s + table.values[column]![rowsOf(id)[k]!]!, 0);
          worst = Math.max(worst, Math.abs(q(j.inlet_vessels, 'flow_out') - q(j.outlet_vessels, 'flow_in')) / scale);
        }
      }
      console.info(`aorta 0D model: ${vessels.length} vessels, ${model.outlets.length} RCR outlets, built and tuned in ${buildMs.toFixed(0)} ms (${model.iterations} simulations); hemo run: mean inlet pressure ${pressure.toFixed(2)} mmHg, cardiac output ${output.toFixed(3)} L/min, worst junction flow imbalance ${worst.toExponential(1)}`);
      expect(Math.abs(pressure / 93 - 1)).toBeLessThan(0.05);
      expect(Math.abs(output / 5 - 1)).toBeLessThan(0.05);
      expect(worst).toBeLessThan(1e-6);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
