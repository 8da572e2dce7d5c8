import type { Command } from '../command.js';

/** A subcommand's name and how to load it: `physiotwin` imports a command's module (and the packages it needs) only when that command runs, so `--version` and light commands start fast. */
export interface CommandEntry {
  /** As `Command.name`; the loaded command must carry the same name. */
  name: string;
  load(): Promise<Command>;
}

/** Every subcommand, in the order `physiotwin --help` lists them. Add new commands here. */
export const commands: CommandEntry[] = [
  { name: 'doctor', load: async () => (await import('./doctor.js')).doctor },
  { name: 'info', load: async () => (await import('./info.js')).info },
  { name: 'dicom info', load: async () => (await import('./dicom-info.js')).dicomInfo },
  { name: 'dicom convert', load: async () => (await import('./dicom-convert.js')).dicomConvert },
  { name: 'hemo run', load: async () => (await import('./hemo-run.js')).hemoRun },
  { name: 'hemo ensemble', load: async () => (await import('./hemo-ensemble.js')).hemoEnsemble },
  { name: 'hemo plan', load: async () => (await import('./hemo-plan.js')).hemoPlan },
  { name: 'hemo merge', load: async () => (await import('./hemo-merge.js')).hemoMerge },
  { name: 'hemo plot', load: async () => (await import('./hemo-plot.js')).hemoPlot },
  { name: 'slurm ensemble', load: async () => (await import('./slurm.js')).slurmEnsemble },
  { name: 'slurm cohort', load: async () => (await import('./slurm.js')).slurmCohort },
  { name: 'k8s ensemble', load: async () => (await import('./k8s.js')).k8sEnsemble },
  { name: 'k8s cohort', load: async () => (await import('./k8s.js')).k8sCohort },
  { name: 'cohort summary', load: async () => (await import('./cohort.js')).cohortSummary },
  { name: 'segment', load: async () => (await import('./segment.js')).segment },
  { name: 'mesh', load: async () => (await import('./mesh.js')).mesh },
  { name: 'pipeline', load: async () => (await import('./pipeline.js')).pipeline },
  { name: 'demo', load: async () => (await import('./demo.js')).demo },
  { name: 'tetmesh', load: async () => (await import('./tetmesh.js')).tetmesh },
  { name: 'fem', load: async () => (await import('./fem.js')).femRun },
  { name: 'fem verify', load: async () => (await import('./fem.js')).femVerify },
  { name: 'deid', load: async () => (await import('./deid.js')).deid },
  { name: 'verify-run', load: async () => (await import('./verify-run.js')).verifyRunCommand },
];
