// Lint for the whole workspace: typescript-eslint's recommended rules over sources, tests and bench scripts.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/dist-old/**', '**/node_modules/**', 'bench/.corpus/**', '.ci/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node }, ecmaVersion: 2022, sourceType: 'module' },
    rules: {
      // Unused names are dead code, except a deliberately ignored `_name`.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Node internals (process.binding, handles) are reached through narrow casts, each commented where it is used.
      '@typescript-eslint/no-explicit-any': 'error',
      'no-control-regex': 'off', // request and header validation matches control characters on purpose
    },
  },
  // The example site's script runs in a browser.
  { files: ['examples/site/**/*.js'], languageOptions: { globals: { ...globals.browser } } },
);
