// report.html in a real browser: Debian's chromium (headless, no GPU, no network services). CI needs the `chromium`
// package; without /usr/bin/chromium the browser test is skipped with a message saying so.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVolume } from '@physiotwin/core';
import type { PipelineResult } from './pipeline.js';
import { runPipeline } from './pipeline.js';
import { meshToSvg, threeViews } from './render.js';
import { reportHtml } from './report.js';

const CHROMIUM = '/usr/bin/chromium';

/** A 40^3 CT-like image of a straight bright tube along k (radius 5 voxels), with a deterministic ripple. */
function tube() {
  const n = 40;
  const data = new Float32Array(n ** 3).map((_, v) => (Math.hypot((v % n) - 20, (Math.floor(v / n) % n) - 20) < 5 ? 1000 : 100) + ((v * 7919) % 13) * 5);
  return createVolume({ dims: [n, n, n], spacing: [1, 1, 1], data });
}

describe('report.html', () => {
  let result: PipelineResult;
  let html: string;
  let dir: string;
  beforeAll(async () => {
    result = await runPipeline({ volume: tube(), seeds: [[20, 20, 20]], name: 'synthetic tube' }, { backend: 'cpu' });
    html = reportHtml(result);
    dir = mkdtempSync(join(tmpdir(), 'physiotwin-report-'));
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is one self-contained page: no script, no external reference, every section present', () => {
    expect(html).not.toMatch(/<script|<link|src=|href=|url\(/i);
    for (const section of ['Input', 'Warnings', 'Lumen surface and centerlines', 'Wall stress at peak systole', 'Pressure and flow at the inlet and each outlet', 'Outlets over the last cardiac cycle', 'Stages', 'Validation status of each solver']) {
      expect(html).toContain(`<h2>${section}</h2>`);
    }
    for (const s of result.stages) expect(html).toContain(`<td>${s.stage}</td>`);
    expect(html).toContain('mean pressure (mmHg)');
    expect(html).toContain('time (s)');
  });

  it('pictures: back faces culled, a colour bar with the value range when coloured', () => {
    // a unit tetrahedron with outward faces, seen from (1, 1, 1): only the slanted face (normal (1, 1, 1)) faces the viewer
    const positions = [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1];
    const triangles = [0, 2, 1, 0, 1, 3, 0, 3, 2, 1, 2, 3];
    const k = 1 / Math.sqrt(3), u = 1 / Math.sqrt(6);
    const view = { name: 'test', look: [-k, -k, -k], up: [-u, -u, 2 * u] } as const;
    const culled = meshToSvg({ positions, triangles, cull: true }, view);
    const all = meshToSvg({ positions, triangles }, view);
    expect(all.match(/<polygon/g)!.length).toBe(4);
    expect(culled.match(/<polygon/g)!.length).toBe(1);
    const coloured = meshToSvg({ positions, triangles, values: [0, 1, 2, 4], label: 'von Mises (kPa)' }, view);
    expect(coloured).toContain('von Mises (kPa)');
    expect(coloured).toContain('>4<');
    // views: the broad picture first (along the smallest extent), end-on along the longest last
    expect(threeViews([0, 0, 0, 1, 5, 10]).map((v) => v.look)).toEqual([[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  });

  it.skipIf(!existsSync(CHROMIUM))(`renders in headless chromium with no console error and no network request${existsSync(CHROMIUM) ? '' : ` (skipped: ${CHROMIUM} is absent; install Debian's chromium)`}`, async () => {
    const { chromium } = await import('playwright-core');
    const file = join(dir, 'report.html');
    writeFileSync(file, html);
    // a fresh profile (playwright passes it as --user-data-dir)
    const browser = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('request', (r) => requests.push(r.url()));
      const url = pathToFileURL(file).href;
      await page.goto(url, { waitUntil: 'load' });
      expect(await page.title()).toBe('physiotwin report: synthetic tube');
      // the lumen's three views and the waveform plot are drawn, with a size
      const svgs = await page.$$eval('svg', (nodes) => nodes.map((n) => n.getBoundingClientRect().width));
      expect(svgs.length).toBeGreaterThanOrEqual(4);
      for (const w of svgs) expect(w).toBeGreaterThan(100);
      expect(errors).toEqual([]);
      expect(requests).toEqual([url]);
    } finally {
      await browser.close();
    }
  }, 60_000);
});
