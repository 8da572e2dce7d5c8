export { simulate, applyOverrides, type SimulationResult, type SimulateOptions } from './solver.js';
export { Integrator } from './integrator.js';
export { buildModel, type Model } from './model.js';
export { readSimulationSettings, type SimulationSettings, type SvZeroDConfig } from './settings.js';
export { DEFAULT_LIMITS, type SolverLimits } from './limits.js';
export { timeGrid, type TimeGrid } from './time-grid.js';
export { resultTable, tableToCsv, tableToPandasJson, parseResultTable, type ResultTable } from './output.js';
export { Parameter } from './parameter.js';
export { compileTimeFunction, type TimeFunction } from './expression.js';
export { Activation, ACTIVATION_PARAMS, type ActivationType } from './activation.js';
export { resultToSvg, type PlotOptions } from './plot.js';
export { simulateEnsemble, type EnsembleOptions, type EnsembleSummary } from './ensemble.js';
export { samplesFromRecords, type EnsembleSamples } from './ensemble-samples.js';
export { GENERAL_GPU_BLOCK_TYPES } from './ensemble-general.codegen.js';
export { BLOCK_DEFINITIONS } from './blocks/index.js';
// Types that exported signatures refer to (Model.blocks, Integrator.sys/ctx, BLOCK_DEFINITIONS): part of the documented API.
export { Block, type AssemblyContext, type BlockClass, type BlockNode, type BlockDefinition, type BlockReader, type KernelGenerator, type KernelScope, type ParamSpec, type PortRule, type Section, type SectionEntry } from './blocks/block.js';
export { DaeSystem } from './system.js';
export { zeroDModelFromCenterlines, aorticInflow, type CenterlineTree, type ZeroDModel, type ZeroDModelOptions, type ZeroDOutlet } from './from-centerlines.js';
