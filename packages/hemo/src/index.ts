export { simulate, applyOverrides, Integrator, type SimulationResult, type SimulateOptions } from './solver.js';
export { buildModel, readSimulationSettings, type Model, type SimulationSettings, type SvZeroDConfig } from './model.js';
export { resultTable, tableToCsv, tableToPandasJson, parseResultTable, type ResultTable } from './output.js';
export { Parameter } from './parameter.js';
export { compileTimeFunction, type TimeFunction } from './expression.js';
export { Activation, type ActivationType } from './activation.js';
export { resultToSvg, type PlotOptions } from './plot.js';
export { simulateEnsemble, samplesFromRecords, rcrProblem, type EnsembleSamples, type EnsembleOptions, type EnsembleSummary, type RcrProblem, type RcrStats } from './ensemble.js';
export { rcrEnsembleCpu } from './ensemble-rcr.cpu.js';
export { rcrEnsembleWebgpu } from './ensemble-rcr.webgpu.js';
export { GENERAL_GPU_BLOCK_TYPES } from './ensemble-general.codegen.js';
// Types that exported signatures refer to (Model.blocks, Integrator.sys/ctx): part of the documented API.
export { Block, type AssemblyContext, type BlockClass, type BlockNode } from './blocks.js';
export { DaeSystem } from './system.js';
export { ACTIVATION_PARAMS } from './activation.js';
export { zeroDModelFromCenterlines, aorticInflow, type CenterlineTree, type ZeroDModel, type ZeroDModelOptions, type ZeroDOutlet } from './from-centerlines.js';
