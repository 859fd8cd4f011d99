import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '@psf/testkit';
import { describe, expect, it, vi } from 'vitest';

// The installed psf-gateway command (built dist/, as npm test builds before testing).
const cli = fileURLToPath(new URL('../../packages/gateway/dist/cli.js', import.meta.url));
const run = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, [cli, ...args], {
    env: { ...process.env, ...env },
    timeout: 10_000,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe('psf-gateway CLI', () => {
  it('explains itself with --help, including the environment variables', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: psf-gateway/);
    expect(r.stdout).toMatch(/PSF_AMQP_URL/);
  });

  it('prints the effective configuration with the password hidden', async () => {
    const r = await run(['--print-config'], {
      PSF_AMQP_URL: 'amqp://psf:s3cret@127.0.0.1:5672/psf',
      PSF_TIMEOUT_MS: '2500',
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/s3cret/);
    expect(JSON.parse(r.stdout)).toMatchObject({
      amqpUrl: 'amqp://psf:***@127.0.0.1:5672/psf',
      timeoutMs: 2500,
    });
  });

  it('refuses a bad configuration with exit code 78 (EX_CONFIG) naming the key', async () => {
    const r = await run(['--print-config'], { PSF_ON_TIMEOUT: 'sometimes' });
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/psf-gateway: invalid configuration[\s\S]*onTimeout/);
  });
});

describe('psf-gateway logs', () => {
  it('one JSON line per event by default, readable lines with --log-format pretty', async () => {
    const firstLine = (args: string[]) =>
      new Promise<string>((resolve) => {
        const child = spawn(process.execPath, [cli, ...args], {
          env: {
            ...process.env,
            PSF_LISTEN: '127.0.0.1:0',
            PSF_AMQP_URL: 'amqp://guest:guest@127.0.0.1:1/psf',
          },
        });
        child.stdout.once('data', (b: Buffer) => {
          child.kill('SIGTERM');
          resolve(b.toString().split('\n')[0] ?? '');
        });
      });
    expect(JSON.parse(await firstLine([]))).toMatchObject({ event: 'listening', msg: 'psf-gateway ready' });
    expect(await firstLine(['--log-format', 'pretty'])).toMatch(
      /^\[[\d:.]+\] INFO \(psf-gateway\/\d+\): psf-gateway ready$/,
    );
  });
});

describe('psf-gateway SIGHUP', () => {
  it('keeps serving with the old settings when the new configuration is bad, and says so', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'psf-sighup-'));
    const file = join(dir, 'gateway.json');
    await writeFile(
      file,
      JSON.stringify({ listen: '127.0.0.1:0', amqpUrl: 'amqp://guest:guest@127.0.0.1:1/psf' }),
    );
    const child = spawn(process.execPath, [cli, '--config', file]);
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    try {
      await vi.waitFor(() => expect(out).toMatch(/psf-gateway ready/), { timeout: 10_000 });
      await writeFile(file, '{"onTimeout": "sometimes"}');
      child.kill('SIGHUP');
      await vi.waitFor(() => expect(out).toMatch(/"event":"reload-failed".*onTimeout/), { timeout: 5000 });
      expect(child.exitCode).toBe(null);
    } finally {
      child.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('psf-token-api CLI', () => {
  const tokenApi = fileURLToPath(new URL('../../packages/token-api/dist/cli.js', import.meta.url));

  it('refuses a configuration without LDAP or secret, naming the keys (exit 78)', async () => {
    const r = await promisify(execFile)(process.execPath, [tokenApi], { timeout: 10_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/ldapUrl[\s\S]*tokenSecret|tokenSecret[\s\S]*ldapUrl/);
  });

  it('serves /healthz on the configured address and stops on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [tokenApi], {
      env: {
        ...process.env,
        PSF_LISTEN: `127.0.0.1:${port}`,
        PSF_LDAP_URL: 'ldap://127.0.0.1:1',
        PSF_LDAP_USER_BASE: 'ou=people,dc=example,dc=test',
        PSF_TOKEN_SECRET: 'a-test-secret-that-is-long-enough-0123',
        PSF_LOG_LEVEL: 'silent',
      },
    });
    try {
      await vi.waitFor(
        async () => expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200),
        {
          timeout: 10_000,
        },
      );
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    expect(child.exitCode).toBe(0);
  });
});

describe('--print-config shows the effective configuration with secrets hidden', () => {
  const run = (file: string, args: string[], env: Record<string, string>) =>
    promisify(execFile)(process.execPath, [fileURLToPath(new URL(file, import.meta.url)), ...args], {
      env: { ...process.env, ...env },
      timeout: 10_000,
    });

  it('psf-token-api hides the token secret and URL passwords', async () => {
    const { stdout } = await run('../../packages/token-api/dist/cli.js', ['--print-config'], {
      PSF_TOKEN_SECRET: 'top-secret-top-secret-top-secret-42',
      PSF_LDAP_URL: 'ldap://127.0.0.1:389',
      PSF_LDAP_USER_BASE: 'ou=people,dc=example,dc=test',
      PSF_MANAGEMENT_URL: 'http://127.0.0.1:15672',
      PSF_ADMIN_AMQP_URL: 'amqp://admin:hunter2@127.0.0.1:5672/psf',
    });
    expect(stdout).not.toMatch(/top-secret|hunter2/);
    expect(JSON.parse(stdout)).toMatchObject({
      tokenSecret: '***',
      adminAmqpUrl: 'amqp://admin:***@127.0.0.1:5672/psf',
    });
  });

  it('psf-broker print-config hides the AMQP password', async () => {
    const { stdout } = await run('../../packages/broker/dist/cli.js', ['print-config'], {
      PSF_AMQP_URL: 'amqp://admin:hunter2@127.0.0.1:5672/psf',
    });
    expect(JSON.parse(stdout)).toEqual({
      amqpUrl: 'amqp://admin:***@127.0.0.1:5672/psf',
      managementUrl: 'http://127.0.0.1:15672',
      queueType: 'classic',
    });
  });
});
