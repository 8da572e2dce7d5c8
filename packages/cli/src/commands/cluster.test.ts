import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { runCli } from '../run.js';
import { capture, REPO_ROOT } from '../capture-io.test-helper.js';

const CASE = join(REPO_ROOT, 'fixtures/hemo/svzerod/cases/pulsatileFlow_R_RCR.json');

describe('physiotwin slurm / k8s: job arrays and indexed jobs', () => {
  const dir = mkdtempSync(join(tmpdir(), "clu ster-it's-"));
  writeFileSync(join(dir, 'plan.json'), JSON.stringify({ format: 'physiotwin-sample-plan', version: 1, method: 'sobol', n: 100, seed: 1, parameters: [{ name: 'OUT.Rd', min: 500, max: 1500 }] }));

  it('slurm ensemble: an array of n tasks (at most k at once), each one shard, and a merge job after all succeeded', async () => {
    const io = capture(dir);
    expect(await runCli(['slurm', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'run', '--array-size', '8', '--limit', '2', '--partition', 'debug', '--time', '00:10:00', '--cpus-per-task', '1'], io), io.err).toBe(0);
    const array = readFileSync(join(dir, 'run/ensemble.sbatch'), 'utf8');
    expect(array).toMatch(/^#SBATCH --array=0-7%2$/m);
    expect(array).toMatch(/^#SBATCH --partition=debug$/m);
    expect(array).toMatch(/^#SBATCH --time=00:10:00$/m);
    expect(array).toMatch(/^export PHYSIOTWIN_SHARD_COUNT=8$/m);
    // The folder name has a space and a quote: quoted for the shell, the index variable outside the quotes.
    expect(array).toContain(`--shard auto -o '${dir.replaceAll("'", `'\\''`)}/run/shard-'"\${SLURM_ARRAY_TASK_ID}"`);
    const merge = readFileSync(join(dir, 'run/ensemble-merge.sbatch'), 'utf8');
    expect(merge).toMatch(/hemo merge .*shard-0' .*shard-7' -o .*\/run\/result' --force/);
    const submit = readFileSync(join(dir, 'run/submit.sh'), 'utf8');
    expect(submit).toMatch(/--dependency=afterok:\$array ensemble-merge\.sbatch/);
    expect(statSync(join(dir, 'run/submit.sh')).mode & 0o111).not.toBe(0);
    expect(await runCli(['slurm', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'run', '--array-size', '8'], capture(dir))).toBe(1);
    const bad = capture(dir);
    expect(await runCli(['slurm', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'run2', '--array-size', '0'], bad)).toBe(2);
    expect(bad.err).toMatch(/INVALID_ARGUMENT: --array-size takes a positive integer/);
  });

  it('k8s ensemble: an Indexed Job (completions n, parallelism p) and a merge Job, valid YAML', async () => {
    const io = capture(dir);
    expect(await runCli(['k8s', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'k', '--array-size', '8', '--parallelism', '3', '--image', 'ghcr.io/x/physiotwin:1', '--volume-claim', 'data', '--memory', '1Gi'], io), io.err).toBe(0);
    const job = parse(readFileSync(join(dir, 'k/ensemble-job.yaml'), 'utf8'));
    expect(job.kind).toBe('Job');
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 8, parallelism: 3 });
    const c = job.spec.template.spec.containers[0];
    expect(c.image).toBe('ghcr.io/x/physiotwin:1');
    expect(c.env).toEqual([{ name: 'PHYSIOTWIN_SHARD_COUNT', value: '8' }]);
    expect(c.command[2]).toMatch(/--shard auto -o .*shard-'"\$\{JOB_COMPLETION_INDEX\}"$/);
    expect(c.resources).toEqual({ requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '1Gi' } });
    expect(job.spec.template.spec.volumes).toEqual([{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }]);
    const merge = parse(readFileSync(join(dir, 'k/ensemble-merge-job.yaml'), 'utf8'));
    expect(merge.metadata.name).toBe('physiotwin-ensemble-merge');
    expect(merge.spec.template.spec.containers[0].command[2]).toMatch(/hemo merge .*shard-7' -o .*result' --force$/);
    // Each index on its own retry budget; physiotwin's own exit codes fail the index at once, evictions do not count.
    expect(job.spec.backoffLimitPerIndex).toBe(2);
    expect(job.spec.backoffLimit).toBeUndefined();
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    expect(job.spec.podFailurePolicy.rules).toEqual([
      { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget' }] },
      { action: 'FailIndex', onExitCodes: { containerName: 'physiotwin', operator: 'In', values: [1, 2] } },
    ]);
    expect(merge.spec.podFailurePolicy.rules[1]).toEqual({ action: 'FailJob', onExitCodes: { containerName: 'physiotwin', operator: 'In', values: [1, 2] } });
    const noImage = capture(dir);
    expect(await runCli(['k8s', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'k2', '--array-size', '2'], noImage)).toBe(2);
    expect(noImage.err).toMatch(/--image/);
  });

  it('slurm cohort / k8s cohort: one task per table row running the pipeline on row auto, then cohort summary', async () => {
    writeFileSync(join(dir, 'cohort.csv'), 'id,input,seed\np1,scans/p1,1\np2,scans/p2,2\np3,scans/p3,3\n');
    expect(await runCli(['slurm', 'cohort', 'cohort.csv', '-o', 'coh'], capture(dir))).toBe(0);
    const array = readFileSync(join(dir, 'coh/cohort.sbatch'), 'utf8');
    expect(array).toMatch(/^#SBATCH --array=0-2$/m);
    expect(array).toMatch(/pipeline --cohort .*cohort\.csv' --index auto\n$/);
    expect(readFileSync(join(dir, 'coh/cohort-merge.sbatch'), 'utf8')).toMatch(/cohort summary .*coh' --cohort .*cohort\.csv' --force\n$/);
    expect(await runCli(['k8s', 'cohort', 'cohort.csv', '-o', 'kcoh', '--image', 'img'], capture(dir))).toBe(0);
    const job = parse(readFileSync(join(dir, 'kcoh/cohort-job.yaml'), 'utf8'));
    expect(job.spec).toMatchObject({ completionMode: 'Indexed', completions: 3, parallelism: 3, backoffLimitPerIndex: 2 });
    expect(job.spec.podFailurePolicy.rules[1].action).toBe('FailIndex');
    expect(job.spec.template.spec.containers[0].name).toBe(job.spec.podFailurePolicy.rules[1].onExitCodes.containerName);
  });

  // submit.sh against a stand-in kubectl (no Kubernetes here): it reports the Job's true conditions as the API
  // server would, after `polls` looks without any, and logs every call.
  const fakeKubectl = (conditions: string, polls: number) => {
    const bin = mkdtempSync(join(tmpdir(), 'kubectl-'));
    writeFileSync(
      join(bin, 'kubectl'),
      `#!/bin/sh\necho "$*" >> "${bin}/calls"\ncase "$*" in\n  *failedIndexes*) printf '1' ;;\n  get*) n=$(cat "${bin}/n" 2>/dev/null || echo 0); echo $((n + 1)) > "${bin}/n"; if [ "$n" -ge ${polls} ]; then printf '${conditions}'; fi ;;\nesac\n`,
      { mode: 0o755 },
    );
    return bin;
  };
  const submit = (script: string, bin: string) => spawnSync('bash', [script], { env: { ...process.env, PATH: `${bin}:${process.env['PATH']}`, PHYSIOTWIN_POLL_S: '0' }, encoding: 'utf8' });

  it('k8s submit.sh: a cohort is summarised when the Job ends Failed (a row failed) as when it ends Complete', async () => {
    expect(await runCli(['k8s', 'cohort', 'cohort.csv', '-o', 'kfail', '--image', 'img'], capture(dir))).toBe(0);
    // Kubernetes 1.31+ sets FailureTarget first, then Failed once the pods have ended.
    const bin = fakeKubectl('FailureTarget Failed ', 2);
    const r = submit(join(dir, 'kfail/submit.sh'), bin);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/job\/physiotwin-cohort failed: indexes 1 did not succeed/);
    const calls = readFileSync(join(bin, 'calls'), 'utf8').trim().split('\n');
    expect(calls[0]).toBe('apply -f cohort-job.yaml');
    expect(calls.filter((c) => c.includes('.status.conditions'))).toHaveLength(3);
    expect(calls.at(-1)).toBe('apply -f cohort-merge-job.yaml');
    const done = fakeKubectl('Complete ', 0);
    expect(submit(join(dir, 'kfail/submit.sh'), done).status).toBe(0);
    expect(readFileSync(join(done, 'calls'), 'utf8').trim().split('\n').at(-1)).toBe('apply -f cohort-merge-job.yaml');
  });

  it('k8s submit.sh: an ensemble is merged only when every shard completed', async () => {
    expect(await runCli(['k8s', 'ensemble', CASE, '--samples', 'plan.json', '-o', 'kens', '--array-size', '2', '--image', 'img'], capture(dir))).toBe(0);
    const failed = fakeKubectl('Failed ', 1);
    const r = submit(join(dir, 'kens/submit.sh'), failed);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/not merging/);
    expect(readFileSync(join(failed, 'calls'), 'utf8')).not.toMatch(/merge-job/);
    const done = fakeKubectl('SuccessCriteriaMet Complete ', 1);
    expect(submit(join(dir, 'kens/submit.sh'), done).status).toBe(0);
    expect(readFileSync(join(done, 'calls'), 'utf8').trim().split('\n').at(-1)).toBe('apply -f ensemble-merge-job.yaml');
    // A Job that never ends: the wait gives up after PHYSIOTWIN_WAIT_S.
    const never = fakeKubectl('', 0);
    const t = spawnSync('bash', [join(dir, 'kens/submit.sh')], { env: { ...process.env, PATH: `${never}:${process.env['PATH']}`, PHYSIOTWIN_POLL_S: '0', PHYSIOTWIN_WAIT_S: '0' }, encoding: 'utf8' });
    expect(t.status).toBe(1);
    expect(t.stderr).toMatch(/has not ended after 0 s/);
  });

  it('cohort summary: one CSV row per table row, failed rows with their error codes, missing rows listed', async () => {
    const root = join(dir, 'cohort-out');
    mkdirSync(join(dir, 'p1'));
    writeFileSync(join(dir, 'p1/manifest.json'), JSON.stringify({ runId: 'abc', tool: 'physiotwin pipeline', backend: { backend: 'cpu' }, seed: 1, timings: { a: 10, b: 5 } }));
    writeFileSync(join(dir, 'p1/results.json'), JSON.stringify({ meanPressure_mmHg: 93.5 }));
    mkdirSync(join(dir, 'p2'));
    writeFileSync(join(dir, 'p2/error.json'), JSON.stringify({ id: 'p2', code: 'DICOM_TRUNCATED', message: 'slice 4 ends early, at byte 12' }));
    const io = capture(dir);
    expect(await runCli(['cohort', 'summary', root, '--cohort', 'cohort.csv'], io)).toBe(1);
    expect(io.out).toMatch(/3 rows, 1 done, 1 failed, 1 missing/);
    const csv = readFileSync(join(root, 'cohort-summary.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe('id,state,code,runId,tool,backend,seed,total_ms,result:meanPressure_mmHg,message,output');
    expect(csv[1]).toMatch(/^p1,done,,abc,physiotwin pipeline,cpu,1,15,93\.5,,/);
    expect(csv[2]).toMatch(/^p2,failed,DICOM_TRUNCATED,,,,,,,"slice 4 ends early, at byte 12",/);
    expect(csv[3]).toMatch(/^p3,missing,/);
    expect(readFileSync(join(root, 'cohort-summary.md'), 'utf8')).toMatch(/\| p2 \| failed \| DICOM_TRUNCATED \| slice 4 ends early, at byte 12 \|/);
  });
});

describe('cohort tables: the interface of physiotwin pipeline --cohort', () => {
  it('cohortRow picks row i or the array index; writeCohortError leaves the code cohort summary lists', async () => {
    const { readCohort, cohortRow, writeCohortError, rowState } = await import('../cohort-table.js');
    const { PhysiotwinError } = await import('@physiotwin/core');
    const dir = mkdtempSync(join(tmpdir(), 'cohort-'));
    writeFileSync(join(dir, 'c.csv'), 'id,input,output,seed,target\na,in/a,out/a,4,0.9\nb,in/b,,,\n');
    const t = readCohort(join(dir, 'c.csv'));
    expect(t.rows[0]).toEqual({ id: 'a', input: join(dir, 'in/a'), output: join(dir, 'out/a'), seed: 4, extra: { target: '0.9' } });
    expect(cohortRow(t, '1').output).toBe(join(dir, 'b'));
    expect(cohortRow(t, 'auto', { JOB_COMPLETION_INDEX: '1' }).id).toBe('b');
    expect(() => cohortRow(t, '2')).toThrow(/INVALID_ARGUMENT: --index must be in 0\.\.1/);
    await writeCohortError(t.rows[0]!, new PhysiotwinError('SOLVER_DIVERGED', 'at t = 0.4 s'));
    expect(rowState(t.rows[0]!.output)).toMatchObject({ state: 'failed', code: 'SOLVER_DIVERGED' });
    writeFileSync(join(dir, 'dup.csv'), 'id,input\na,x\na,y\n');
    expect(() => readCohort(join(dir, 'dup.csv'))).toThrow(/IO_INVALID: id 'a' is used twice/);
  });
});
