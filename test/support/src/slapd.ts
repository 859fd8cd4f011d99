import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposer, instanceScript } from './instance-script.js';

const { start, stopper } = instanceScript('slapd-instance.sh', 15000);

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

/**
 * A private slapd (scripts/slapd-instance.sh) in a fresh temp dir, seeded with alice, bob and carol
 * in ou=people and carol in cn=psf-admins; dispose it to stop and remove. Starts in ~0.2 s.
 */
export async function startSlapd(): Promise<Slapd> {
  // slapd runs as us (root), so the dir can stay 700: it holds the admin password.
  const dir = await mkdtemp(join(tmpdir(), 'psf-slapd-'));
  const [port = 0] = await start(dir, ([p]) => ['start', dir, `${p}`]);
  const adminPassword = await readFile(join(dir, 'rootpw'), 'utf8');
  const stop = stopper(dir);
  return {
    url: `ldap://127.0.0.1:${port}`,
    baseDn: 'dc=example,dc=test',
    peopleDn: 'ou=people,dc=example,dc=test',
    adminDn: 'cn=admin,dc=example,dc=test',
    adminPassword,
    users: { alice: 'alice-pw', bob: 'bob-pw', carol: 'carol-pw' },
    adminGroupDn: 'cn=psf-admins,ou=groups,dc=example,dc=test',
    stop,
    [Symbol.asyncDispose]: disposer(stop, dir),
  };
}
