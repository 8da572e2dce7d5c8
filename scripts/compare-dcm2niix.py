#!/usr/bin/env python3
"""Converts a DICOM folder with dcm2niix and with `physiotwin dicom convert`, then compares what each wrote.

  python3 scripts/compare-dcm2niix.py <dicom folder> [more folders...]

For every dcm2niix NIfTI it looks for a physiotwin NIfTI with the same dims, maps every physiotwin voxel through
its sform to world space and through dcm2niix's inverse sform to a dcm2niix voxel (which must be an integer index
to 1e-2), and counts stored values that differ. It compares the .bval texts, and the .bvec gradients as world
directions (FSL convention: x negated when the sform determinant is positive). dcm2niix writes rows bottom-up and
physiotwin keeps DICOM's row order, so the files differ byte for byte while the images are the same.
Needs dcm2niix, numpy, and a built physiotwin (npm run build). Exit status 1 when something differs.
"""
import glob, gzip, json, os, struct, subprocess, sys, tempfile
import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(REPO, 'packages/cli/bin/physiotwin.js')
TYPES = {2: 'u1', 4: '<i2', 8: '<i4', 16: '<f4', 64: '<f8', 256: 'i1', 512: '<u2', 768: '<u4', 128: 'u1'}


def load(path):
    raw = open(path, 'rb').read()
    if raw[:2] == b'\x1f\x8b':
        raw = gzip.decompress(raw)
    dim = struct.unpack('<8h', raw[40:56])
    dtype = struct.unpack('<h', raw[70:72])[0]
    off = int(struct.unpack('<f', raw[108:112])[0])
    srow = np.array(struct.unpack('<12f', raw[280:328])).reshape(3, 4)
    shape = [dim[i] for i in range(1, dim[0] + 1)]
    comps = 3 if dtype == 128 else 1
    data = np.frombuffer(raw, TYPES[dtype], int(np.prod(shape)) * comps, off)
    vol = data.reshape(shape[::-1] + ([comps] if comps > 1 else []))  # [t][z][y][x]
    if vol.ndim == 3:
        vol = vol[None]
    return vol, srow


def table(path):
    return [[float(x) for x in line.split()] for line in open(path).read().strip().splitlines()]


def bvec_world(v, srow):
    m = srow[:, :3]
    axes = m / np.linalg.norm(m, axis=0)
    b = np.array(v, float)
    if np.linalg.det(m) > 0:
        b[0] = -b[0]
    return axes @ b


def compare(folder):
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        d, p = os.path.join(tmp, 'd'), os.path.join(tmp, 'p')
        os.makedirs(d)
        subprocess.run(['dcm2niix', '-z', 'n', '-b', 'y', '-f', '%s_%d', '-o', d, folder], capture_output=True)
        run = subprocess.run(['node', CLI, 'dicom', 'convert', folder, '-o', p, '--format', 'nii', '--name', '%s_%d', '--spacing', 'report', '--json'], capture_output=True, text=True)
        ours = sorted(glob.glob(os.path.join(p, '*.nii')))
        theirs = sorted(glob.glob(os.path.join(d, '*.nii')))
        print(f'{folder}: dcm2niix {len(theirs)} file(s), physiotwin {len(ours)}')
        if run.returncode != 0:
            print('  physiotwin:', (json.loads(run.stdout).get('failed') if run.stdout.strip() else run.stderr.strip()[-300:]))
        loaded = {f: load(f) for f in ours}
        for t in theirs:
            tv, ts = load(t)
            name = os.path.basename(t)
            match = None
            for f, (ov, os_) in loaded.items():
                if ov.shape != tv.shape:
                    continue
                A = np.vstack([os_, [0, 0, 0, 1]])
                B = np.vstack([ts, [0, 0, 0, 1]])
                M = np.linalg.inv(B) @ A
                nz, ny, nx = ov.shape[1:4]
                ijk = np.stack(np.meshgrid(np.arange(nx), np.arange(ny), np.arange(nz), indexing='ij'), -1).reshape(-1, 3)
                idx = (M[:3, :3] @ ijk.T).T + M[:3, 3]
                r = np.round(idx).astype(int)
                if np.abs(idx - r).max() > 1e-2 or (r < 0).any() or (r >= [nx, ny, nz]).any():
                    continue
                diff = 0
                for v in range(ov.shape[0]):
                    a = ov[v][ijk[:, 2], ijk[:, 1], ijk[:, 0]]
                    b = tv[v][r[:, 2], r[:, 1], r[:, 0]]
                    diff += int((a != b).sum())
                match = (f, diff, os_)
                if diff == 0:
                    break
            if not match:
                print(f'  {name}: no physiotwin volume on the same grid')
                bad += 1
                continue
            f, diff, os_ = match
            msg = f'  {name} <-> {os.path.basename(f)}: {tv.shape[::-1]} voxels differing {diff}'
            bad += diff > 0
            tb, ob = t[:-4] + '.bval', f[:-4] + '.bval'
            if os.path.exists(tb):
                same = os.path.exists(ob) and open(tb).read() == open(ob).read()
                msg += f'; .bval {"equal" if same else "DIFFERENT"}'
                bad += not same
                if same:
                    tv_, ov_ = table(t[:-4] + '.bvec'), table(f[:-4] + '.bvec')
                    vals = table(tb)[0]
                    worst = max((np.abs(bvec_world([x[i] for x in ov_], os_) - bvec_world([x[i] for x in tv_], ts)).max() for i in range(len(vals)) if vals[i] > 0), default=0)
                    msg += f'; gradients differ by at most {worst:.1e} in world space'
                    bad += worst > 2e-5
            print(msg)
    return bad


if __name__ == '__main__':
    total = sum(compare(f) for f in sys.argv[1:])
    sys.exit(1 if total else 0)
