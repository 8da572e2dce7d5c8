// ESLint (flat config) with typescript-eslint's type-aware rules, over the packages' sources and tests and test/.
// Only the rules that catch real defects or keep the API shape: the formatter's job is left to editors.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/generated/**', 'docs/api/**', 'benchmarks/**', 'scripts/**', '**/*.mjs', '**/*.js'] },
  {
    files: ['packages/*/src/**/*.ts', 'packages/*/test-support/**/*.ts', 'packages/viewer/app/src/**/*.ts', 'test/**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { project: ['./tsconfig.test.json'], tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // A promise nobody awaits loses its errors (and, with Dawn, can outlive the device it uses).
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/await-thenable': 'error',
      // verbatimModuleSyntax erases only `import type`: a type imported as a value would be kept at run time.
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-restricted-syntax': ['error', { selector: 'ExportAllDeclaration', message: 'export lists, not export *: a package exports what it means to (docs/contributing.md)' }],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
    },
  },
);
