// The web app's build: a static folder (relative base './', so any file server can host it) with the pipeline
// worker, the bundled VMTK aorta and every library bundled in; nothing is fetched from another origin.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, defineConfig } from 'vite';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../../..');
const aorta = join(repo, 'fixtures/mesh/vmtk-aorta/aorta.mha');
// One vtk.js in the bundle: cornerstone pins the version the viewer depends on (34.15.1), but npm keeps a nested
// copy under cornerstone beside the root's newer devDependency; both resolve to the viewer's copy here.
const vtk = dirname(createRequire(join(here, '../package.json')).resolve('@kitware/vtk.js/package.json'));

/** Serves fixtures/mesh/vmtk-aorta/aorta.mha as ./aorta.mha (dev) and copies it into the build. */
function bundledAorta() {
  return {
    name: 'physiotwin-bundled-aorta',
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        if (!req.url || !req.url.split('?')[0].endsWith('/aorta.mha')) return next();
        res.setHeader('Content-Type', 'application/octet-stream');
        res.end(readFileSync(aorta));
      });
    },
    generateBundle() {
      this.emitFile({ type: 'asset', fileName: 'aorta.mha', source: readFileSync(aorta) });
    },
  };
}

/**
 * The browser bundle must not pull in Node-only modules. Two are known and unreachable in a browser: @physiotwin/gpu
 * loads its Dawn adapter (`node-webgpu.js`, the `webgpu` addon) only when `isNode()`, so the build gets a stub in
 * its place; the WASM codecs' Emscripten glue names `fs`/`path` in its Node branch. Any other module that Vite
 * would externalize "for browser compatibility" fails the build: a library added a Node-only import.
 */
const nodeOnly = [];
const EXTERNALIZED = /Module "([^"]+)" has been externalized for browser compatibility, imported by "([^"]+)"/;
const logger = createLogger();
const warn = logger.warn.bind(logger);
const warnOnce = logger.warnOnce.bind(logger);
const filter = (send) => (msg, options) => {
  const m = EXTERNALIZED.exec(msg);
  if (!m) return send(msg, options);
  if (/[\\/]@cornerstonejs[\\/]codec-/.test(m[2]) && /^(node:)?(fs|path|crypto)$/.test(m[1])) return;
  nodeOnly.push(`"${m[1]}" imported by ${m[2]}`);
  send(msg, options);
};
logger.warn = filter(warn);
logger.warnOnce = filter(warnOnce);

function nodeImportGuard() {
  const stub = '\0physiotwin-node-webgpu-stub';
  return {
    name: 'physiotwin-node-import-guard',
    enforce: 'pre',
    resolveId(id, importer) {
      if (id === './node-webgpu.js' && importer && /[\\/]gpu[\\/](dist|src)[\\/]device\.[jt]s$/.test(importer)) return stub;
      return null;
    },
    load(id) {
      if (id !== stub) return null;
      return "export function requestNodeAdapter() { throw new Error('node-webgpu is Node-only'); }";
    },
    closeBundle() {
      if (nodeOnly.length) throw new Error(`Node-only modules in the browser bundle:\n  ${[...new Set(nodeOnly)].join('\n  ')}`);
    },
  };
}

export default defineConfig({
  root: here,
  base: './',
  clearScreen: false,
  resolve: {
    alias: [{ find: /^@kitware\/vtk\.js\//, replacement: `${vtk}/` }],
  },
  customLogger: logger,
  // No request after the page has loaded (issue #14): the page's one worker (@physiotwin/workers' worker.js, which
  // the page starts at load) is one file with every op it can run (no chunk fetched when a run first reaches a WebGPU
  // kernel), and the page is one file with cornerstone and vtk.js. The worker is same-origin: the page's CSP
  // (index.html) allows it with worker-src 'self'.
  worker: { format: 'es', plugins: () => [nodeImportGuard()], rolldownOptions: { output: { codeSplitting: false } } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    // cornerstone + vtk.js are one ~2 MB chunk that the page needs before it can show anything; splitting it
    // would not make the first paint faster. The limit sits above it so a real regression still warns.
    chunkSizeWarningLimit: 4000,
    reportCompressedSize: false,
    // checks.pluginTimings: rolldown's note on slow plugins is not a problem of the code (the worker transform takes seconds on a busy machine).
    rolldownOptions: { input: join(here, 'index.html'), checks: { pluginTimings: false }, output: { codeSplitting: false } },
  },
  plugins: [nodeImportGuard(), bundledAorta()],
  server: { fs: { allow: [repo] } },
});
