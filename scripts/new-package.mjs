// Scaffolds packages/<name> with the layout every physiotwin package shares
// (ESM, exports map with types first, source condition for tests, project references).
// Usage: node scripts/new-package.mjs <name> "<description>" [dep ...]
import { mkdirSync, writeFileSync, existsSync } from 'node:fs';

const [name, description, ...deps] = process.argv.slice(2);
if (!name || !description) {
  console.error('usage: node scripts/new-package.mjs <name> "<description>" [dep ...]');
  process.exit(2);
}
const dir = `packages/${name}`;
mkdirSync(`${dir}/src`, { recursive: true });
const pkg = {
  name: `@physiotwin/${name}`,
  version: '0.1.0',
  description,
  type: 'module',
  license: 'MIT',
  sideEffects: false,
  exports: {
    '.': {
      types: './dist/index.d.ts',
      '@physiotwin/source': './src/index.ts',
      default: './dist/index.js',
    },
  },
  files: ['dist'],
  dependencies: Object.fromEntries(deps.map((d) => [`@physiotwin/${d}`, '0.1.0'])),
};
if (!existsSync(`${dir}/package.json`)) writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + '\n');
writeFileSync(
  `${dir}/tsconfig.json`,
  JSON.stringify(
    {
      extends: '../../tsconfig.base.json',
      compilerOptions: { rootDir: 'src', outDir: 'dist', tsBuildInfoFile: 'dist/.tsbuildinfo' },
      include: ['src'],
      exclude: ['src/**/*.test.ts'],
      references: deps.map((d) => ({ path: `../${d}` })),
    },
    null,
    2,
  ) + '\n',
);
writeFileSync(
  `${dir}/typedoc.json`,
  JSON.stringify({ $schema: 'https://typedoc.org/schema.json', entryPoints: ['src/index.ts'] }, null, 2) + '\n',
);
if (!existsSync(`${dir}/src/index.ts`)) writeFileSync(`${dir}/src/index.ts`, `export {};\n`);
console.log(`scaffolded ${dir}`);
