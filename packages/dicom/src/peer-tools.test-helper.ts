// Independent DICOM readers for this package's tests: dcmtk's dcmdump and pydicom (Debian `dcmtk`,
// `python3-pydicom`). Tests that use them skip, saying why, when the tools are not installed.
import { execFileSync, spawnSync } from 'node:child_process';

function has(cmd: string, args: string[]): boolean {
  return spawnSync(cmd, args, { stdio: 'ignore' }).status === 0;
}

/** The system python that has pydicom (Debian python3-pydicom), not a virtualenv's. */
export const PYTHON = '/usr/bin/python3';
/** Whether dcmtk's dcmdump runs here. */
export const HAS_DCMDUMP = has('dcmdump', ['--version']);
/** Whether pydicom (with numpy) imports here. */
export const HAS_PYDICOM = has(PYTHON, ['-c', 'import pydicom, numpy']);
/** Why a peer-tool test is skipped. */
export const PEER_SKIP = 'needs dcmtk (dcmdump) and python3-pydicom: apt-get install dcmtk python3-pydicom';

/**
 * Runs dcmdump over files and returns its stderr per file (empty when dcmtk had nothing to say) and exit status.
 * `--log-level warn` makes dcmtk report every irregularity it tolerates.
 */
export function dcmdump(paths: string[]): { path: string; status: number | null; stderr: string }[] {
  // One run over all files first (fast); only when it has something to say, one run per file to tell which.
  const all = spawnSync('dcmdump', ['--log-level', 'warn', '+E', ...paths], { encoding: 'utf8', maxBuffer: 256 << 20 });
  if (all.status === 0 && all.stderr.trim() === '') return paths.map((path) => ({ path, status: 0, stderr: '' }));
  return paths.map((path) => {
    const r = spawnSync('dcmdump', ['--log-level', 'warn', '+E', path], { encoding: 'utf8' });
    return { path, status: r.status, stderr: r.stderr.trim() };
  });
}

/** Runs a python script with pydicom on the system python; argv after the script is `args`; returns stdout parsed as JSON. */
export function pydicomJson<T>(script: string, args: string[]): T {
  // cwd '/' so that no folder named "pydicom" (fixtures/dicom/pydicom) shadows the module.
  const out = execFileSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', cwd: '/', maxBuffer: 64 << 20 });
  return JSON.parse(out) as T;
}
