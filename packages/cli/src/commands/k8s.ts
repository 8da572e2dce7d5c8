import { parseArgs } from 'node:util';
import type { Command, CliIO } from '../command.js';
import { EXIT, numberFlag, prepareOutputs, UsageError } from '../command.js';
import { WORK_FLAGS, readWork, shellLine, WORK_USAGE, type ClusterWork } from '../cluster-jobs.js';
import { readCohort } from '../cohort-table.js';

type Yaml = string | number | boolean | Yaml[] | { [key: string]: Yaml };

/**
 * Block-style YAML of plain data: keys are identifiers, strings are written as JSON strings (a JSON string is a
 * YAML double-quoted scalar with the same meaning), numbers and booleans as themselves.
 */
export function toYaml(value: Yaml, indent = ''): string {
  if (Array.isArray(value)) {
    return value.map((v) => (typeof v === 'object' ? `${indent}- ${toYaml(v, indent + '  ').trimStart()}` : `${indent}- ${toYaml(v)}\n`)).join('');
  }
  if (typeof value === 'object') {
    return Object.entries(value)
      .map(([k, v]) => (typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0) ? `${indent}${k}:\n${toYaml(v, indent + '  ')}` : `${indent}${k}: ${typeof v === 'object' ? (Array.isArray(v) ? '[]' : '{}') : toYaml(v)}\n`))
      .join('');
  }
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** Kubernetes options. */
interface K8sOptions {
  name: string;
  image: string;
  parallelism: number;
  claim?: string | undefined;
  mount: string;
  cpu: string;
  memory?: string | undefined;
  physiotwin: string;
}

/** Tries of one index (shard or row) a failed pod gets beyond the first, each index on its own budget. */
export const RETRIES_PER_INDEX = 2;

/**
 * The Indexed Job, the merge Job, and submit.sh (applies the first, waits until it has ended, applies the second).
 *
 * Each index has its own retry budget (`backoffLimitPerIndex`, Kubernetes 1.29 or later): a failing shard or row
 * never stops the others, and the Job ends once every index has succeeded (condition Complete) or used up its
 * budget (condition Failed, the failed indexes in `status.failedIndexes`). physiotwin's own failures (exit 1: a
 * typed error, also written to the row's error.json; exit 2: a bad command line) come out the same on a retry, so
 * the pod failure policy fails their index at once; a killed pod (137 out of memory, 143) is retried, and a pod
 * evicted or pre-empted (condition DisruptionTarget) does not count. submit.sh waits for Complete or Failed: an
 * ensemble is merged only when Complete (as Slurm's afterok); a cohort's summary runs either way (as afterany),
 * listing the failed rows.
 */
export function k8sManifests(work: ClusterWork, o: K8sOptions): { job: string; merge: string; submit: string } {
  const container = (args: string[], env: Record<string, string>): Yaml => ({
    name: 'physiotwin',
    image: o.image,
    command: ['sh', '-c', `exec ${o.physiotwin} ${shellLine(args, 'JOB_COMPLETION_INDEX')}`],
    env: Object.entries(env).map(([name, value]) => ({ name, value })),
    resources: { requests: { cpu: o.cpu, ...(o.memory ? { memory: o.memory } : {}) }, ...(o.memory ? { limits: { memory: o.memory } } : {}) },
    ...(o.claim ? { volumeMounts: [{ name: 'data', mountPath: o.mount }] } : {}),
  });
  const pod = (args: string[], env: Record<string, string>): Yaml => ({
    spec: { restartPolicy: 'Never', containers: [container(args, env)], ...(o.claim ? { volumes: [{ name: 'data', persistentVolumeClaim: { claimName: o.claim } }] } : {}) },
  });
  const ignoreDisruption = { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] };
  const ownExit = (action: string) => ({ action, onExitCodes: { containerName: 'physiotwin', operator: 'In', values: [1, 2] } });
  const job = toYaml({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: o.name, labels: { app: 'physiotwin', work: work.kind } },
    // One pod per shard or row (JOB_COMPLETION_INDEX); each index retried on its own (a retried shard or row that
    // had finished is skipped), a typed error fails its index at once, the Job ends when every index has ended.
    spec: {
      completionMode: 'Indexed',
      completions: work.count,
      parallelism: o.parallelism,
      backoffLimitPerIndex: RETRIES_PER_INDEX,
      podFailurePolicy: { rules: [ignoreDisruption, ownExit('FailIndex')] },
      template: pod(work.task, work.env),
    },
  });
  // The merge or summary: retried after a crash, not after its own error (a cohort summary exits 1 when rows
  // failed, with the summary written).
  const merge = toYaml({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${o.name}-merge`, labels: { app: 'physiotwin', work: `${work.kind}-merge` } },
    spec: { completions: 1, backoffLimit: 2, podFailurePolicy: { rules: [ignoreDisruption, ownExit('FailJob')] }, template: pod(work.merge, {}) },
  });
  const ensemble = work.kind === 'ensemble';
  const submit =
    `#!/bin/bash\n# Applies the Indexed Job, waits until it has ended (every index succeeded: Complete; or some index failed\n` +
    `# after its retries, the others run to the end: Failed), then applies the ${ensemble ? 'merge Job if it completed' : 'summary Job either way'}.\n` +
    `# Run it again after a failure: delete the old Jobs first (kubectl delete job ${o.name} ${o.name}-merge); finished\n# ${ensemble ? 'shards' : 'rows'} are skipped. PHYSIOTWIN_WAIT_S: how long to wait (default 86400 s); PHYSIOTWIN_POLL_S: how often to look (10 s).\n` +
    `set -euo pipefail\ncd "$(dirname "$0")"\n` +
    `kubectl apply -f ${work.kind}-job.yaml\n` +
    `deadline=$(( $(date +%s) + \${PHYSIOTWIN_WAIT_S:-86400} ))\nended=\n` +
    `while [ -z "$ended" ]; do\n` +
    `  conditions=" $(kubectl get job/${o.name} -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}' || true) "\n` +
    `  case "$conditions" in\n    *" Complete "*) ended=Complete ;;\n    *" Failed "*) ended=Failed ;;\n    *)\n` +
    `      if [ "$(date +%s)" -ge "$deadline" ]; then echo "job/${o.name} has not ended after \${PHYSIOTWIN_WAIT_S:-86400} s" >&2; exit 1; fi\n` +
    `      sleep "\${PHYSIOTWIN_POLL_S:-10}" ;;\n  esac\ndone\n` +
    `if [ "$ended" = Failed ]; then\n  echo "job/${o.name} failed: indexes $(kubectl get job/${o.name} -o jsonpath='{.status.failedIndexes}') did not succeed" >&2\n` +
    (ensemble ? `  echo "not merging: fix the cause and run this script again (finished shards are skipped)" >&2\n  exit 1\nfi\n` : `fi\n`) +
    `kubectl apply -f ${work.kind}-merge-job.yaml\n`;
  return { job, merge, submit };
}

function k8sCommand(kind: 'ensemble' | 'cohort'): Command {
  return {
    name: `k8s ${kind}`,
    summary: kind === 'ensemble' ? 'Write a Kubernetes Indexed Job that runs a hemo ensemble in shards, and its merge Job' : 'Write a Kubernetes Indexed Job that runs the pipeline on every row of a cohort table',
    usage: `${kind === 'ensemble' ? '<config.json> --samples <plan.json|samples.csv> --array-size n' : '<cohort.csv> [--array-size n]'} -o <folder> --image <image> [--parallelism p] [--volume-claim <pvc>] [--mount /data] [--name <job>] [--cpu 1] [--memory 2Gi] [--physiotwin <command>] [--force]

  Writes <folder>/${kind}-job.yaml (completionMode Indexed, completions n, parallelism p (default
  n): pod i runs shard or row i, reading JOB_COMPLETION_INDEX), <folder>/${kind}-merge-job.yaml and
  <folder>/submit.sh (kubectl apply, wait until the Job has ended, then ${kind === 'ensemble' ? 'the merge Job if every shard' : 'the summary Job, also when rows'}
  ${kind === 'ensemble' ? 'succeeded' : 'failed'}). Each index is retried on its own (backoffLimitPerIndex ${RETRIES_PER_INDEX}, Kubernetes 1.29 or
  later): a failing index never stops the others; a typed error (exit 1 or 2) fails its index at
  once. Paths are written as given, made absolute: give the paths the pods see (e.g. on the volume
  claim mounted at --mount).
${WORK_USAGE}`,
    async run(args: string[], io: CliIO) {
      const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { ...WORK_FLAGS,
        image: { type: 'string' },
        parallelism: { type: 'string' },
        'volume-claim': { type: 'string' },
        mount: { type: 'string', default: '/data' },
        name: { type: 'string', default: `physiotwin-${kind}` },
        cpu: { type: 'string', default: '1' },
        memory: { type: 'string' },
      } });
      const work = readWork(kind, positionals, values, io, (p) => readCohort(p).rows.length);
      if (!values.image) throw new UsageError('--image <container image with physiotwin> is required');
      const parallelism = numberFlag(values.parallelism, '--parallelism') ?? work.count;
      if (!Number.isInteger(parallelism) || parallelism < 1) throw new UsageError(`--parallelism takes a positive integer, got ${parallelism}`);
      if (!/^[a-z0-9]([-a-z0-9]{0,50}[a-z0-9])?$/.test(values.name)) throw new UsageError(`--name must be a DNS label (lower-case letters, digits, '-'; at most 52 characters), got '${values.name}'`);
      const files = { job: `${work.out}/${kind}-job.yaml`, merge: `${work.out}/${kind}-merge-job.yaml`, submit: `${work.out}/submit.sh` };
      const outputs = await prepareOutputs(Object.values(files), values.force, { folder: work.out });
      const m = k8sManifests(work, { name: values.name, image: values.image, parallelism, claim: values['volume-claim'], mount: values.mount, cpu: values.cpu, memory: values.memory, physiotwin: values.physiotwin });
      await outputs.write([[files.job, m.job], [files.merge, m.merge], [files.submit, m.submit]]);
      const { chmod } = await import('node:fs/promises');
      await chmod(files.submit, 0o755);
      io.stdout(`wrote ${files.job}, ${files.merge} and ${files.submit}: ${work.count} indexed completions, ${parallelism} at once\n`);
      return EXIT.ok;
    },
  };
}

export const k8sEnsemble = k8sCommand('ensemble');
export const k8sCohort = k8sCommand('cohort');
