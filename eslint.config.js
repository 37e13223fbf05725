import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // The design bans circular module imports; forwardRef is how they sneak in.
      'no-restricted-syntax': [
        'error',
        { selector: "CallExpression[callee.name='forwardRef']", message: 'forwardRef hides a circular dependency' },
      ],
      // Only the config module reads the environment.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'read settings through AppConfig' }],
    },
  },
  {
    files: ['src/config/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts', 'jest.config.js', 'src/cli/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
