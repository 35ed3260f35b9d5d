import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const lib = (name: string) => fileURLToPath(new URL(`./libs/${name}/src`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^@app\/(common|config|runpod|google-maps)$/, replacement: `${lib('$1')}/index.ts` },
      { find: /^@app\/(common|config|runpod|google-maps)\/(.*)$/, replacement: `${lib('$1')}/$2` },
    ],
  },
  test: {
    include: [
      'src/**/*.spec.ts',
      'libs/**/*.spec.ts',
      'test/**/*.spec.ts',
      'test/**/*.e2e-spec.ts',
    ],
    globalSetup: ['test/utils/global-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    env: { NODE_ENV: 'test' },
  },
});
