import { parseArgs } from 'node:util';
import type { Command, CliIO } from '../command.js';
import { EXIT, numberFlag, prepareOutputs, UsageError } from '../command.js';
import { WORK_FLAGS, readWork, shellLine, WORK_USAGE, type ClusterWork } from '../cluster-jobs.js';
import { readCohort } from '../cohort-table.js';

/** Slurm options of the array job. */
interface SlurmOptions {
  limit?: number | undefined;
  partition?: string | undefined;
  time?: string | undefined;
  cpusPerTask: number;
  physiotwin: string;
}

/**
 * The array job, the merge job and submit.sh, which submits the merge with --dependency=afterok on the array for an
 * ensemble, afterany for a cohort (the summary lists the failed rows, so it runs whatever they did).
 */
export function slurmScripts(work: ClusterWork, o: SlurmOptions): { array: string; merge: string; submit: string } {
  const head = (name: string, log: string) =>
    [
      '#!/bin/bash',
      `#SBATCH --job-name=physiotwin-${name}`,
      `#SBATCH --output=${work.out}/logs/${log}`,
      `#SBATCH --cpus-per-task=${o.cpusPerTask}`,
      ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
      ...(o.time ? [`#SBATCH --time=${o.time}`] : []),
    ].join('\n');
  const env = Object.entries(work.env).map(([k, v]) => `export ${k}=${v}\n`).join('');
  const array =
    `${head(work.kind, `${work.kind}-%a.out`)}\n#SBATCH --array=0-${work.count - 1}${o.limit ? `%${o.limit}` : ''}\n` +
    `# Task i runs shard / row i; a finished one is kept and skipped, so resubmitting the array redoes only the rest.\nset -euo pipefail\n${env}` +
    `exec ${o.physiotwin} ${shellLine(work.task, 'SLURM_ARRAY_TASK_ID')}\n`;
  const merge = `${head(`${work.kind}-merge`, `${work.kind}-merge.out`)}\nset -euo pipefail\nexec ${o.physiotwin} ${shellLine(work.merge, 'SLURM_ARRAY_TASK_ID')}\n`;
  const after = work.kind === 'cohort' ? 'afterany' : 'afterok';
  const submit =
    `#!/bin/bash\n# Submits the array and the merge job that starts once every array task ${work.kind === 'cohort' ? 'ended' : 'succeeded'}. Run it again to resubmit:\n# finished tasks are skipped.\nset -euo pipefail\ncd "$(dirname "$0")"\nmkdir -p ${shellLine([`${work.out}/logs`], '')}\n` +
    `array=$(sbatch --parsable ${work.kind}.sbatch)\narray=\${array%%;*}\nmerge=$(sbatch --parsable --dependency=${after}:$array ${work.kind}-merge.sbatch)\nmerge=\${merge%%;*}\necho "array job $array, merge job $merge"\n`;
  return { array, merge, submit };
}

function slurmCommand(kind: 'ensemble' | 'cohort'): Command {
  return {
    name: `slurm ${kind}`,
    summary: kind === 'ensemble' ? 'Write Slurm job-array scripts that run a hemo ensemble in shards and merge them' : 'Write Slurm job-array scripts that run the pipeline on every row of a cohort table',
    usage: `${kind === 'ensemble' ? '<config.json> --samples <plan.json|samples.csv> --array-size n' : '<cohort.csv> [--array-size n]'} -o <folder> [--limit k] [--partition p] [--time hh:mm:ss] [--cpus-per-task c] [--physiotwin <command>] [--force]

  Writes <folder>/${kind}.sbatch (a job array, --array=0-(n-1)%k, one task per shard or row),
  <folder>/${kind}-merge.sbatch and <folder>/submit.sh, which submits both, the merge with
  --dependency=${kind === 'ensemble' ? 'afterok' : 'afterany'}:<array job>. Logs go to <folder>/logs. --physiotwin is the command that runs
  physiotwin on the nodes (default physiotwin; e.g. 'node /opt/physiotwin/bin/physiotwin.js').
${WORK_USAGE}`,
    async run(args: string[], io: CliIO) {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...WORK_FLAGS,
        limit: { type: 'string' },
        partition: { type: 'string' },
        time: { type: 'string' },
        'cpus-per-task': { type: 'string', default: '1' },
      } });
      const work = readWork(kind, positionals, values, io, (p) => readCohort(p).rows.length);
      const limit = numberFlag(values.limit, '--limit');
      if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) throw new UsageError(`--limit takes a positive integer, got ${limit}`);
      const cpus = numberFlag(values['cpus-per-task'], '--cpus-per-task')!;
      if (!Number.isInteger(cpus) || cpus < 1) throw new UsageError(`--cpus-per-task takes a positive integer, got ${cpus}`);
      if (values.time !== undefined && !/^(\d+-)?\d+(:\d\d){0,2}$/.test(values.time)) throw new UsageError(`--time takes [days-]hh:mm:ss, got '${values.time}'`);
      if (values.partition !== undefined && !/^[A-Za-z0-9_.,-]+$/.test(values.partition)) throw new UsageError(`--partition takes a partition name, got '${values.partition}'`);
      const files = { array: `${work.out}/${kind}.sbatch`, merge: `${work.out}/${kind}-merge.sbatch`, submit: `${work.out}/submit.sh` };
      const outputs = await prepareOutputs(Object.values(files), values.force, { folder: work.out });
      const s = slurmScripts(work, { limit, partition: values.partition, time: values.time, cpusPerTask: cpus, physiotwin: values.physiotwin });
      await outputs.write([[files.array, s.array], [files.merge, s.merge], [files.submit, s.submit]]);
      const { chmod } = await import('node:fs/promises');
      await chmod(files.submit, 0o755);
      io.stdout(`wrote ${files.array}, ${files.merge} and ${files.submit}: ${work.count} array tasks${limit ? `, at most ${limit} at once` : ''}; run ${files.submit}\n`);
      return EXIT.ok;
    },
  };
}

export const slurmEnsemble = slurmCommand('ensemble');
export const slurmCohort = slurmCommand('cohort');
