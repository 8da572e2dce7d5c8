import type { BlockDefinition, Section } from './block.js';
import { bloodVessel } from './blood-vessel.js';
import { bloodVesselCRL } from './blood-vessel-crl.js';
import { bloodVesselRC } from './blood-vessel-rc.js';
import { chamberSphere } from './chamber-sphere.js';
import { closedLoopCoronaryLeft, closedLoopCoronaryRight } from './closed-loop-coronary.js';
import { closedLoopHeart } from './closed-loop-heart.js';
import { closedLoopRCR } from './closed-loop-rcr.js';
import { coronary, coronaryVarRes } from './coronary.js';
import { chamberElastanceInductor, chamberElastanceInductorExponential, linearElastanceChamber } from './elastance-chamber.js';
import { flow } from './flow.js';
import { bloodVesselJunction, normalJunction } from './junction.js';
import { piecewiseValve } from './piecewise-valve.js';
import { pressure } from './pressure.js';
import { rcr } from './rcr.js';
import { resistance } from './resistance.js';
import { valveTanh } from './valve-tanh.js';

/**
 * Every block type, in the order the README lists them. Adding a block: one file in this folder (class,
 * definition, kernel generator) and one entry here.
 */
export const BLOCK_DEFINITIONS: readonly BlockDefinition[] = [
  bloodVessel, bloodVesselCRL, bloodVesselRC, chamberSphere, normalJunction, bloodVesselJunction, flow, pressure, resistance, rcr,
  coronary, coronaryVarRes, closedLoopRCR, closedLoopCoronaryLeft, closedLoopCoronaryRight, valveTanh, piecewiseValve,
  chamberElastanceInductor, chamberElastanceInductorExponential, linearElastanceChamber, closedLoopHeart,
];

const BY_TYPE = new Map(BLOCK_DEFINITIONS.map((d) => [d.type, d]));

/** The definition of a block type, or undefined for an unknown type. */
export function blockDefinition(type: string): BlockDefinition | undefined {
  return BY_TYPE.get(type);
}

/** Block types allowed in a config section, in registry order. */
export function sectionTypes(section: Section): string[] {
  return BLOCK_DEFINITIONS.filter((d) => d.sections.includes(section)).map((d) => d.type);
}
