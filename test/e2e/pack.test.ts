import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// What a user gets from `npm install @psf/x`: built code, types, README, LICENSE; no sources,
// tests or build state. Needs `tsc -b` first (npm test runs it).
const PACKAGES = [
  '@psf/protocol',
  '@psf/broker',
  '@psf/gateway',
  '@psf/client-sdk',
  '@psf/token-api',
  '@psf/stats',
  '@psf/classifiers',
];

describe('npm pack', () => {
  it('publishes only what users need, for every package', async () => {
    const args = ['pack', '--dry-run', '--json', ...PACKAGES.flatMap((p) => ['-w', p])];
    const { stdout } = await promisify(execFile)('npm', args, { maxBuffer: 16 * 1024 * 1024 });
    const packs = JSON.parse(stdout) as Array<{ name: string; files: Array<{ path: string }> }>;
    expect(packs.map((p) => p.name).sort()).toEqual([...PACKAGES].sort());
    for (const pack of packs) {
      const files = pack.files.map((f) => f.path);
      expect(files, pack.name).toEqual(
        expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts']),
      );
      const unexpected = files.filter(
        (f) =>
          !['package.json', 'README.md', 'LICENSE'].includes(f) &&
          !/^dist\/([\w-]+\/)*[\w-]+\.(js|d\.ts)$/.test(f),
      );
      expect(unexpected, pack.name).toEqual([]);
      expect(
        files.filter((f) => f.includes('.test.')),
        pack.name,
      ).toEqual([]);
    }
  });
});
