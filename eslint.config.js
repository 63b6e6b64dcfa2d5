import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain JavaScript files (scripts, tool configs) run on Node.
    files: ['**/*.js', '**/*.mjs'],
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        Buffer: 'readonly',
        URLSearchParams: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
      },
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'Use a union of string literals (DESIGN §7).' },
      ],
    },
  },
  {
    // DESIGN §1: routing/ and policy/ are pure. Decisions do no I/O, so serve, explain and test
    // can never disagree, and a policy evaluation can never hang on a network.
    files: ['src/routing/**/*.ts', 'src/policy/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: [
                'express',
                'express-*',
                'http',
                'https',
                'node:http',
                'node:https',
                'http2',
                'node:http2',
                'fs',
                'fs/*',
                'node:fs',
                'node:fs/*',
                'openid-client',
                'jose',
                'redis',
                'connect-redis',
                'undici',
                'http-proxy-3',
                '**/session/*',
                '**/proxy/*',
                '**/auth/*',
                '**/config/*',
              ],
              message: 'routing/ and policy/ stay pure: no I/O libraries or I/O rooms (DESIGN §1).',
            },
          ],
        },
      ],
    },
  },
);
