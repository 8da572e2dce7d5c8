// A single-node Slurm cluster on localhost for the Slurm test and the sharding benchmark: munged, slurmctld and slurmd
// run as child processes of this process, with a config, key, state and logs in a temporary folder, on free ports.
// Needs root (SlurmUser=root) and Debian's slurm-wlm and munge; `slurmAvailability` says why a machine cannot.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const BINARIES = ['munged', 'slurmctld', 'slurmd', 'sbatch', 'squeue', 'scancel', 'sinfo'];

const onPath = (b: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${b}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/**
 * Undefined when this machine can run the test cluster, else why not. As root with CI=true, installs Debian's
 * slurm-wlm and munge first when they are missing (apt-get, about a minute).
 */
export function slurmAvailability(): string | undefined {
  if (process.platform !== 'linux') return 'Slurm runs on Linux only';
  if (process.getuid?.() !== 0) return 'the test cluster runs its daemons as root (SlurmUser=root); not root here';
  let missing = BINARIES.filter((b) => !onPath(b));
  if (missing.length && process.env['CI'] === 'true' && onPath('apt-get')) {
    execFileSync('sh', ['-c', 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge > /dev/null'], { stdio: 'inherit', timeout: 600_000 });
    missing = BINARIES.filter((b) => !onPath(b));
  }
  if (missing.length) return `Slurm is not installed (missing ${missing.join(', ')}: apt-get install slurm-wlm munge)`;
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A running test cluster. */
export interface TestCluster {
  dir: string;
  /** Environment for the Slurm client commands (SLURM_CONF). */
  env: NodeJS.ProcessEnv;
  /** Runs a Slurm client command and returns its stdout. */
  run(cmd: string, args: string[]): string;
  /** Cancels every job, stops the daemons (SIGTERM, then SIGKILL after 5 s) and removes the folder. */
  stop(): Promise<void>;
}

/**
 * Starts munged, slurmctld and slurmd (`cpus` CPUs) and waits until the node is idle (at most 30 s).
 * @throws Error with the daemons' logs when the cluster does not come up
 */
export async function startCluster(cpus = 2): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'physiotwin-slurm-'));
  chmodSync(dir, 0o755);
  for (const d of ['state', 'spool']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'munge.key'), randomBytes(128), { mode: 0o400 });
  const [ctld, slurmd] = [await freePort(), await freePort()];
  const conf = join(dir, 'slurm.conf');
  writeFileSync(
    conf,
    [
      'ClusterName=physiotwin-test',
      'SlurmctldHost=localhost',
      'SlurmUser=root',
      'SlurmdUser=root',
      `SlurmctldPort=${ctld}`,
      `SlurmdPort=${slurmd}`,
      'AuthType=auth/munge',
      `AuthInfo=socket=${dir}/munge.sock`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      `SlurmctldLogFile=${dir}/slurmctld.log`,
      `SlurmdLogFile=${dir}/slurmd.log`,
      'ProctrackType=proctrack/linuxproc',
      'TaskPlugin=task/none',
      'SelectType=select/cons_tres',
      'SelectTypeParameters=CR_CPU',
      'JobAcctGatherType=jobacct_gather/none',
      'AccountingStorageType=accounting_storage/none',
      'MpiDefault=none',
      'ReturnToService=2',
      'SchedulerType=sched/backfill',
      // Start dependent jobs within a second of their dependency, not at the default 30 s backfill interval.
      'SchedulerParameters=bf_interval=1',
      `NodeName=localhost CPUs=${cpus} State=UNKNOWN`,
      'PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP',
      '',
    ].join('\n'),
  );
  const env = { ...process.env, SLURM_CONF: conf };
  const daemons: ChildProcess[] = [];
  const start = (cmd: string, args: string[]) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    p.stderr?.on('data', (d: Buffer) => writeFileSync(join(dir, `${cmd}.stderr`), d, { flag: 'a' }));
    daemons.push(p);
  };
  start('munged', ['-F', `--socket=${dir}/munge.sock`, `--key-file=${dir}/munge.key`, `--pid-file=${dir}/munged.pid`, `--log-file=${dir}/munged.log`, `--seed-file=${dir}/munged.seed`, '--force']);
  const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { env, encoding: 'utf8', timeout: 30_000 });
  const stop = async () => {
    try {
      if (existsSync(join(dir, 'slurmctld.pid'))) run('scancel', ['--user=root']);
    } catch {
      // The controller may be down already.
    }
    for (const p of daemons.reverse()) {
      if (p.exitCode !== null || p.signalCode !== null) continue;
      const exited = new Promise<void>((r) => p.once('exit', () => r()));
      p.kill('SIGTERM');
      const timer = setTimeout(() => p.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const logs = () => ['munged.log', 'slurmctld.log', 'slurmd.log', 'munged.stderr', 'slurmctld.stderr', 'slurmd.stderr'].map((f) => (existsSync(join(dir, f)) ? `--- ${f}\n${readFileSync(join(dir, f), 'utf8').slice(-2000)}` : '')).join('\n');
  const deadline = Date.now() + 30_000;
  while (!existsSync(join(dir, 'munge.sock')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  start('slurmctld', ['-D', '-f', conf]);
  start('slurmd', ['-D', '-f', conf, '-N', 'localhost']);
  for (;;) {
    let state = '';
    try {
      state = run('sinfo', ['-h', '-o', '%T']).trim();
    } catch {
      // The controller is not listening yet.
    }
    if (state === 'idle') break;
    if (Date.now() > deadline) {
      const l = logs();
      await stop();
      throw new Error(`the test cluster did not come up within 30 s (node state '${state}')\n${l}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { dir, env, run, stop };
}
