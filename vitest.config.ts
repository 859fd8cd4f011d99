import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

// Tests run against the sources: each @psf/* name points at its package's src/index.ts.
export default defineConfig({
  resolve: {
    alias: {
      '@psf/protocol': src('protocol'),
      '@psf/broker': src('broker'),
      '@psf/gateway': src('gateway'),
      '@psf/client-sdk': src('client-sdk'),
      '@psf/token-api': src('token-api'),
      '@psf/classifiers': src('classifiers'),
      '@psf/stats': src('stats'),
      '@psf/example-keyword-classifier': fileURLToPath(
        new URL('./examples/keyword-classifier/src/index.ts', import.meta.url),
      ),
      '@psf/example-send-loop': fileURLToPath(new URL('./examples/send-loop/src/index.ts', import.meta.url)),
      '@psf/testkit': fileURLToPath(new URL('./test/support/src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'examples/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Postfix instances, broker vhosts and ports are per file; two cores: keep it to two workers.
    maxWorkers: 2,
  },
});
