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

/** The Indexed Job, the merge Job, and submit.sh (applies the first, waits for it to complete, applies the second). */
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
  const job = toYaml({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: o.name, labels: { app: 'physiotwin', work: work.kind } },
    // One pod per shard or row (JOB_COMPLETION_INDEX); a failed pod is retried, and a retried shard that had
    // finished is skipped.
    spec: { completionMode: 'Indexed', completions: work.count, parallelism: o.parallelism, backoffLimit: Math.max(6, work.count), template: pod(work.task, work.env) },
  });
  const merge = toYaml({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: `${o.name}-merge`, labels: { app: 'physiotwin', work: `${work.kind}-merge` } },
    spec: { completions: 1, backoffLimit: 2, template: pod(work.merge, {}) },
  });
  const submit =
    `#!/bin/bash\n# Applies the Indexed Job, waits until every index completed, then applies the merge Job. Run it again after a\n# failure: delete the old Jobs first (kubectl delete job ${o.name} ${o.name}-merge); finished shards are skipped.\nset -euo pipefail\ncd "$(dirname "$0")"\n` +
    `kubectl apply -f ${work.kind}-job.yaml\nkubectl wait --for=condition=complete --timeout=\${PHYSIOTWIN_WAIT:-24h} job/${o.name}\nkubectl apply -f ${work.kind}-merge-job.yaml\n`;
  return { job, merge, submit };
}

function k8sCommand(kind: 'ensemble' | 'cohort'): Command {
  return {
    name: `k8s ${kind}`,
    summary: kind === 'ensemble' ? 'Write a Kubernetes Indexed Job that runs a hemo ensemble in shards, and its merge Job' : 'Write a Kubernetes Indexed Job that runs the pipeline on every row of a cohort table',
    usage: `${kind === 'ensemble' ? '<config.json> --samples <plan.json|samples.csv> --array-size n' : '<cohort.csv> [--array-size n]'} -o <folder> --image <image> [--parallelism p] [--volume-claim <pvc>] [--mount /data] [--name <job>] [--cpu 1] [--memory 2Gi] [--physiotwin <command>] [--force]

  Writes <folder>/${kind}-job.yaml (completionMode Indexed, completions n, parallelism p (default
  n): pod i runs shard or row i, reading JOB_COMPLETION_INDEX), <folder>/${kind}-merge-job.yaml and
  <folder>/submit.sh (kubectl apply, kubectl wait for completion, then the merge Job). Paths are
  written as given, made absolute: give the paths the pods see (e.g. on the volume claim mounted at
  --mount).
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
