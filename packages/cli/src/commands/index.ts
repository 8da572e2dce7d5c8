import type { Command } from '../command.js';
import { doctor } from './doctor.js';
import { info } from './info.js';

/** Every subcommand, in the order `physiotwin --help` lists them. Add new commands here. */
export const commands: Command[] = [doctor, info];
