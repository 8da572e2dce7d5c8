import type { DaeSystem } from '../system.js';
import { invalid, num, arr } from '../config-read.js';
import { Parameter } from '../parameter.js';
import { Block, stenosisKernel, type AssemblyContext, type BlockDefinition } from './block.js';

/** NORMAL_JUNCTION: equal pressures and conservation of mass (svZeroDSolver `src/model/Junction.h`). */
export class Junction extends Block {
  numEquations(): number {
    return this.inlets.length + this.outlets.length;
  }
  protected entries(): Array<[number, number]> {
    const m = this.inlets.length + this.outlets.length;
    const out: Array<[number, number]> = [];
    for (let i = 0; i < m - 1; i++) out.push([i, 0], [i, 2 * i + 2]);
    for (let i = 0; i < m; i++) out.push([m - 1, 2 * i + 1]);
    return out;
  }
  override constant(sys: DaeSystem): void {
    const m = this.inlets.length + this.outlets.length;
    const s = this.s;
    let k = 0;
    for (let i = 0; i < m - 1; i++) {
      sys.F[s[k++]!] = 1;
      sys.F[s[k++]!] = -1;
    }
    for (let i = 0; i < m; i++) sys.F[s[k++]!] = i < this.inlets.length ? 1 : -1;
  }
}

export const normalJunction: BlockDefinition = {
  type: 'NORMAL_JUNCTION',
  sections: ['junctions'],
  read: (_r, name, values, path) => {
    if (Object.keys(values).some((k) => !k.startsWith('_'))) throw invalid('NORMAL_JUNCTION takes no junction_values', path);
    return new Junction(name, 'NORMAL_JUNCTION', 'junction', {});
  },
  kernel: {},
};

/**
 * BloodVesselJunction: one inlet, a resistive-inductive-stenotic branch per outlet
 * (svZeroDSolver `src/model/BloodVesselJunction.h`): Q_in - sum Q_out,i = 0;
 * P_in - P_out,i - (R_i + S_i|Q_out,i|) Q_out,i - L_i dQ_out,i = 0. Parameters are per-outlet lists
 * (ids `R_poiseuille[i]`, `L[i]`, `stenosis_coefficient[i]`).
 */
export class BloodVesselJunction extends Block {
  numEquations(): number {
    return this.outlets.length + 1;
  }
  protected entries(): Array<[number, number]> {
    const out: Array<[number, number]> = [[0, 1]];
    for (let i = 0; i < this.outlets.length; i++) out.push([0, 3 + 2 * i], [i + 1, 0], [i + 1, 2 + 2 * i], [i + 1, 3 + 2 * i]);
    return out;
  }
  override constant(sys: DaeSystem, c: AssemblyContext): void {
    const s = this.s;
    sys.F[s[0]!] = 1;
    for (let i = 0; i < this.outlets.length; i++) {
      const b = 1 + 4 * i;
      sys.F[s[b]!] = -1;
      sys.F[s[b + 1]!] = 1;
      sys.F[s[b + 2]!] = -1;
      sys.F[s[b + 3]!] = -this.par(c, `R_poiseuille[${i}]`);
      sys.E[s[b + 3]!] = -this.par(c, `L[${i}]`);
    }
  }
  override solution(sys: DaeSystem, c: AssemblyContext, y: Float64Array): void {
    for (let i = 0; i < this.outlets.length; i++) {
      const S = this.par(c, `stenosis_coefficient[${i}]`);
      const q = y[this.v[3 + 2 * i]!]!;
      sys.C[this.e[i + 1]!] = -S * Math.abs(q) * q;
      sys.dCdy[this.s[1 + 4 * i + 3]!] = -2 * S * Math.abs(q);
    }
  }
}

const LISTS = ['R_poiseuille', 'L', 'stenosis_coefficient'];

export const bloodVesselJunction: BlockDefinition = {
  type: 'BloodVesselJunction',
  sections: ['junctions'],
  read: (r, name, values, path, { inlets, outlets, path: entryPath }) => {
    if (inlets !== 1) throw invalid('BloodVesselJunction supports exactly one inlet', entryPath);
    for (const key of Object.keys(values)) if (!key.startsWith('_') && !LISTS.includes(key)) throw invalid(`unknown parameter '${key}' for BloodVesselJunction`, `${path}.${key}`);
    const ids: Record<string, number> = {};
    for (const key of LISTS) {
      const list = values[key] === undefined && key === 'stenosis_coefficient' ? Array.from({ length: outlets }, () => 0) : arr(values[key], `${path}.${key}`);
      if (list.length !== outlets) throw invalid(`'${key}' needs one value per outlet (${outlets}), got ${list.length}`, `${path}.${key}`);
      list.forEach((x, k) => (ids[`${key}[${k}]`] = r.addParam(name, `${key}[${k}]`, new Parameter(num(x, `${path}.${key}[${k}]`)))));
    }
    return new BloodVesselJunction(name, 'BloodVesselJunction', 'junction', ids);
  },
  kernel: {
    solution(g, b) {
      for (let i = 0; i < b.outlets.length; i++) {
        const key = `stenosis_coefficient[${i}]`;
        if (!g.zero(key)) stenosisKernel(g, g.p(key), i + 1, 3 + 2 * i);
      }
    },
  },
};
