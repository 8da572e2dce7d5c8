import { PhysiotwinError } from '@physiotwin/core';

/**
 * Chamber activation functions of svZeroDSolver (`src/model/ActivationFunction.cpp`): each maps a time (s)
 * to an activation in [0, 1] for a cardiac period T.
 */
export type ActivationType = 'half_cosine' | 'piecewise_cosine' | 'two_hill' | 'fourier' | 'wrapping_cosine';

/** Parameter names each activation type reads from the config's `activation_function` object. */
export const ACTIVATION_PARAMS: Record<ActivationType, readonly string[]> = {
  half_cosine: ['t_active', 't_twitch'],
  piecewise_cosine: ['contract_start', 'relax_start', 'contract_duration', 'relax_duration'],
  two_hill: ['t_shift', 'tau_1', 'tau_2', 'm1', 'm2'],
  fourier: [],
  wrapping_cosine: ['Tsa', 'tpwave'],
};

/**
 * Fourier coefficients (cos, sin) of the normalised ventricular elastance of J. Tran's tuning framework,
 * as tabulated in svZeroDSolver `ClosedLoopHeartPulmonary.cpp` and `ActivationFunction.cpp` (Menon 2023).
 */
export const ELASTANCE_FOURIER: readonly (readonly [number, number])[] = [
  [0.283748803, 0.0], [0.031830626, -0.374299825], [-0.2094724, -0.01812777], [0.020520047, 0.073971113],
  [0.008316883, -0.047249597], [-0.04167766, 0.003212163], [0.000867323, 0.019441411], [-0.001675379, -0.005565534],
  [-0.011252277, 0.003401432], [-0.000414677, 0.008376795], [0.000253749, -0.00007188], [-0.002584966, 0.001566861],
  [0.000584752, 0.003143555], [0.000028502, -0.000024787], [0.000022961, -0.000007476], [0.000018735, -0.000001281],
  [0.000015573, 0.000001781], [0.000013133, 0.000003494], [0.000011199, 0.000004507], [0.000009634, 0.000005117],
  [0.000008343, 0.000005481], [0.000007265, 0.000005687], [0.000006354, 0.000005789], [0.000005575, 0.000005821],
  [0.000004903, 0.000005805],
];

/** Sum of the elastance Fourier series at `tInCycle` (s) for period `T` (s). */
export function fourierElastance(tInCycle: number, T: number): number {
  let v = 0;
  for (let i = 0; i < ELASTANCE_FOURIER.length; i++) {
    const c = ELASTANCE_FOURIER[i]!;
    const w = (2 * Math.PI * i * tInCycle) / T;
    v += c[0] * Math.cos(w) - c[1] * Math.sin(w);
  }
  return v;
}

/** Atrial activation that wraps across the cycle boundary (Sankaran 2012): `Tsa` fraction of T, `tpwave` divisor of T. */
export function wrappingCosine(tInCycle: number, T: number, tsaFrac: number, tpwaveDiv: number): number {
  const Tsa = T * tsaFrac;
  const tp = T / tpwaveDiv;
  if (tInCycle <= tp) return 0.5 * (1 - Math.cos((2 * Math.PI * (tInCycle - tp + Tsa)) / Tsa));
  if (tInCycle >= T - Tsa + tp && tInCycle < T) return 0.5 * (1 - Math.cos((2 * Math.PI * (tInCycle - tp - (T - Tsa))) / Tsa));
  return 0;
}

/** An activation function bound to its parameters and the cardiac period. */
export class Activation {
  private norm = 1;
  private normMin = 0;

  /**
   * @param type activation kind
   * @param p its parameters (names in {@link ACTIVATION_PARAMS})
   * @param period cardiac period T (s)
   * @throws PhysiotwinError `CONFIG_INVALID` when a two-hill normalisation is not positive and finite
   */
  constructor(
    readonly type: ActivationType,
    readonly p: Readonly<Record<string, number>>,
    readonly period: number,
    jsonPath: string,
  ) {
    if (type === 'two_hill') {
      // Normalise the peak to 1 by scanning one period at 1e-5 s, as upstream does.
      let max = 0;
      for (let t = 0; t < period; t += 1e-5) max = Math.max(max, this.twoHillRaw(t));
      if (!(max > 0) || !Number.isFinite(max)) {
        throw new PhysiotwinError('CONFIG_INVALID', `two_hill activation peak is ${max}; need tau_1 > 0, tau_2 > 0`, { location: { jsonPath } });
      }
      this.norm = 1 / max;
    } else if (type === 'fourier') {
      let mn = Infinity;
      let mx = -Infinity;
      const N = 10000;
      for (let k = 0; k < N; k++) {
        const v = fourierElastance((k * period) / N, period);
        mn = Math.min(mn, v);
        mx = Math.max(mx, v);
      }
      this.normMin = mn;
      this.norm = mx - mn > 0 ? 1 / (mx - mn) : 1;
    }
  }

  private twoHillRaw(t: number): number {
    const g1 = Math.pow(t / this.p.tau_1!, this.p.m1!);
    const g2 = Math.pow(t / this.p.tau_2!, this.p.m2!);
    return (g1 / (1 + g1)) * (1 / (1 + g2));
  }

  /** Activation at absolute time `time` (s). */
  compute(time: number): number {
    const T = this.period;
    const p = this.p;
    switch (this.type) {
      case 'half_cosine': {
        const tc = time % T;
        const tContract = tc >= p.t_active! ? tc - p.t_active! : 0;
        return tContract <= p.t_twitch! ? -0.5 * Math.cos((2 * Math.PI * tContract) / p.t_twitch!) + 0.5 : 0;
      }
      case 'piecewise_cosine': {
        let c = (time - p.contract_start!) % T;
        if (c >= 0 && c < p.contract_duration!) return 0.5 * (1 - Math.cos((Math.PI * c) / p.contract_duration!));
        c = (time - p.relax_start!) % T;
        if (c >= 0 && c < p.relax_duration!) return 0.5 * (1 + Math.cos((Math.PI * c) / p.relax_duration!));
        return 0;
      }
      case 'two_hill': {
        let ts = ((time % T) - p.t_shift!) % T;
        if (ts < 0) ts += T;
        return this.norm * this.twoHillRaw(ts);
      }
      case 'fourier':
        return (fourierElastance(time % T, T) - this.normMin) * this.norm;
      case 'wrapping_cosine':
        return wrappingCosine(time % T, T, p.Tsa!, p.tpwave!);
    }
  }
}
