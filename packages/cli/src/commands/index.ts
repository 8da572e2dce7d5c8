import type { Command } from '../command.js';
import { doctor } from './doctor.js';
import { info } from './info.js';
import { dicomInfo } from './dicom-info.js';
import { dicomConvert } from './dicom-convert.js';
import { hemoEnsemble } from './hemo-ensemble.js';
import { hemoPlot } from './hemo-plot.js';
import { hemoRun } from './hemo-run.js';
import { segment } from './segment.js';
import { mesh } from './mesh.js';
import { deid } from './deid.js';
import { verifyRunCommand } from './verify-run.js';

/** Every subcommand, in the order `physiotwin --help` lists them. Add new commands here. */
export const commands: Command[] = [doctor, info, dicomInfo, dicomConvert, hemoRun, hemoEnsemble, hemoPlot, segment, mesh, deid, verifyRunCommand];
