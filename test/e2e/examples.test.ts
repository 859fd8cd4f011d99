import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@psf/testkit';
import { describe, expect, it, vi } from 'vitest';

const main = (example: string) =>
  fileURLToPath(new URL(`../../examples/${example}/dist/main.js`, import.meta.url));

describe('examples: smtp-client sends a folder of mails to smtp-server, which prints them', () => {
  it('delivers every .eml file and prints envelope and headers of each', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'psf-examples-'));
    const port = await freePort();
    const server = spawn(process.execPath, [main('smtp-server')], {
      env: { ...process.env, PSF_LISTEN: `127.0.0.1:${port}` },
    });
    let printed = '';
    server.stdout.on('data', (b: Buffer) => {
      printed += b.toString();
    });
    try {
      await writeFile(join(dir, 'a.eml'), 'Subject: first\r\nFrom: a@example.net\r\n\r\none\r\n');
      await writeFile(join(dir, 'b.eml'), 'Subject: second\r\nFrom: b@example.net\r\n\r\ntwo\r\n');
      await writeFile(join(dir, 'notes.txt'), 'not a mail');
      await vi.waitFor(() => expect(printed).toMatch(/listening/), { timeout: 10_000 });
      const args = [
        main('smtp-client'),
        '--server',
        `127.0.0.1:${port}`,
        '--to',
        'x@example.org',
        '--to',
        'y@example.org',
        dir,
      ];
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, args, { timeout: 20_000 }, (err, stdout, stderr) =>
          err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout),
        ),
      );
      expect(out.trim().split('\n')).toHaveLength(2);
      await vi.waitFor(() => expect(printed.match(/^--- mail from/gm)).toHaveLength(2), { timeout: 5000 });
      expect(printed).toMatch(/--- mail from <tester@example.net> to <x@example.org> <y@example.org>/);
      expect(printed).toMatch(/^Subject: first$/m);
      expect(printed).toMatch(/^Subject: second$/m);
    } finally {
      server.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
