import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// The example units, checked by systemd itself: syntax, directives, and that ExecStart names an
// executable (the commands npm install -g puts in /usr/local/bin, here stand-ins in a temp dir).
const units = fileURLToPath(new URL('../../examples/systemd/', import.meta.url));

describe('examples/systemd', () => {
  it('every unit passes systemd-analyze verify', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'psf-systemd-'));
    try {
      const files = (await readdir(units)).filter((f) => f.endsWith('.service'));
      expect(files.sort()).toEqual([
        'psf-classifier@.service',
        'psf-gateway.service',
        'psf-token-api.service',
      ]);
      const bin = join(dir, 'bin');
      await execFileP('mkdir', ['-p', bin]);
      for (const name of ['psf-gateway', 'psf-token-api', 'psf-keyword-classifier']) {
        await symlink('/bin/true', join(bin, name));
      }
      for (const f of files) {
        const text = (await readFile(join(units, f), 'utf8')).replaceAll('/usr/local/bin/', `${bin}/`);
        // A template is verified as one of its instances.
        await writeFile(join(dir, f.replace('@.', '@psf.default.')), text);
      }
      await chmod(dir, 0o755);
      for (const f of await readdir(dir)) {
        if (!f.endsWith('.service')) continue;
        // verify exits 0 even for unknown keys and bad values: it only complains, so no output is the bar.
        const { stderr } = await execFileP('systemd-analyze', ['verify', '--man=no', join(dir, f)]);
        expect(stderr.trim(), f).toBe('');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

const execFileP = promisify(execFile);
