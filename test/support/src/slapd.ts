import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';

const SCRIPT = fileURLToPath(new URL('../../../scripts/slapd-instance.sh', import.meta.url));

export interface Slapd {
  /** `ldap://127.0.0.1:PORT` (plain LDAP, loopback only). */
  url: string;
  baseDn: string;
  /** Users are `uid=<name>,<peopleDn>`: inetOrgPerson, mail `<name>@example.org`. */
  peopleDn: string;
  /** The rootdn: may write anything. */
  adminDn: string;
  adminPassword: string;
  /** Each user's password. */
  users: { alice: string; bob: string; carol: string };
  /** A groupOfNames whose only member is carol. */
  adminGroupDn: string;
  stop(): Promise<void>;
  /** stop() and remove its dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

function script(args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [SCRIPT, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`slapd-instance.sh ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

// Best effort if a test file dies without disposing: no slapd may outlive the worker.
const running = new Set<string>();
process.once('exit', () => {
  for (const dir of running) {
    try {
      execFileSync('bash', [SCRIPT, 'stop', dir], { timeout: 15_000, stdio: 'ignore' });
    } catch {}
  }
});

/**
 * A private slapd (scripts/slapd-instance.sh) in a fresh temp dir, seeded with alice, bob and carol
 * in ou=people and carol in cn=psf-admins; dispose it to stop and remove. Starts in ~0.2 s.
 */
export async function startSlapd(): Promise<Slapd> {
  // slapd runs as us (root), so the dir can stay 700: it holds the admin password.
  const dir = await mkdtemp(join(tmpdir(), 'psf-slapd-'));
  let port = 0;
  try {
    // freePort() can race another worker's bind: retry on "Address already in use" with a new port.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        running.add(dir);
        await script(['start', dir, `${port}`]);
        break;
      } catch (err) {
        if (attempt >= 3 || !/Address already in use/.test(String(err))) throw err;
      }
    }
  } catch (err) {
    await script(['stop', dir]).catch(() => {});
    running.delete(dir);
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const adminPassword = await readFile(join(dir, 'rootpw'), 'utf8');
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= script(['stop', dir]).then(() => {
      running.delete(dir);
    });
    return stopped;
  };
  return {
    url: `ldap://127.0.0.1:${port}`,
    baseDn: 'dc=example,dc=test',
    peopleDn: 'ou=people,dc=example,dc=test',
    adminDn: 'cn=admin,dc=example,dc=test',
    adminPassword,
    users: { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' },
    adminGroupDn: 'cn=psf-admins,ou=groups,dc=example,dc=test',
    stop,
    async [Symbol.asyncDispose]() {
      try {
        await stop();
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },
  };
}
