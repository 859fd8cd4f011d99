import { execFile } from 'node:child_process';
import amqp from 'amqplib';
import { expect, it } from 'vitest';
import { startRabbitNode, startSlapd } from './index.js';

// ldap-utils, not an LDAP client library: what the identity code will use is its own choice.
// LDAPNOINIT: no /etc/ldap/ldap.conf or ~/.ldaprc defaults in between.
function ldap(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      ['-x', ...args],
      { timeout: 10_000, env: { ...process.env, LDAPNOINIT: '1' } },
      (err, out, e) => resolve({ code: err ? Number(err.code ?? -1) : 0, out: out + e }),
    );
  });
}

it('slapd: users bind with their password only; carol is in psf-admins', async () => {
  await using slapd = await startSlapd();
  const alice = `uid=alice,${slapd.peopleDn}`;
  expect(await ldap('ldapwhoami', ['-H', slapd.url, '-D', alice, '-w', slapd.users.alice])).toEqual({
    code: 0,
    out: `dn:${alice}\n`,
  });
  // 49: invalidCredentials.
  const wrong = await ldap('ldapwhoami', ['-H', slapd.url, '-D', alice, '-w', 'bob-pw']);
  expect(wrong).toMatchObject({ code: 49, out: expect.stringMatching(/Invalid credentials/) });
  const admin = await ldap('ldapwhoami', ['-H', slapd.url, '-D', slapd.adminDn, '-w', slapd.adminPassword]);
  expect(admin.code).toBe(0);

  // As alice would see it after her bind: the group, and no password of anyone's.
  const search = (base: string, ...attrs: string[]) =>
    ldap('ldapsearch', ['-LLL', '-H', slapd.url, '-D', alice, '-w', slapd.users.alice, '-b', base, ...attrs]);
  const group = await search(slapd.adminGroupDn, 'member');
  expect(group.out).toBe(`dn: ${slapd.adminGroupDn}\nmember: uid=carol,${slapd.peopleDn}\n\n`);
  const bob = await search(`uid=bob,${slapd.peopleDn}`, 'mail', 'userPassword');
  expect(bob.out).toBe(`dn: uid=bob,${slapd.peopleDn}\nmail: bob@example.org\n\n`);
});

it('rabbit node: auth backend plugins and management on; guest over AMQP, rabbitmqctl and HTTP', async () => {
  await using node = await startRabbitNode({
    plugins: ['rabbitmq_auth_backend_http', 'rabbitmq_auth_backend_cache'],
    management: true,
  });
  expect(node.name).toMatch(/^psftest-[0-9a-f]+@localhost$/);

  const conn = await amqp.connect(node.url);
  try {
    const ch = await conn.createChannel();
    const q = await ch.assertQueue('', { exclusive: true });
    expect(q.queue).toMatch(/^amq\.gen-/);
  } finally {
    await conn.close();
  }

  expect(await node.ctl(['-q', 'list_vhosts', 'name'])).toMatch(/^name\n\/\n$/);
  const plugins = await node.ctl(['-q', 'eval', 'rabbit_plugins:active().']);
  expect(plugins).toMatch(/rabbitmq_auth_backend_http/);
  expect(plugins).toMatch(/rabbitmq_auth_backend_cache/);

  const res = await fetch(`http://127.0.0.1:${node.managementPort}/api/overview`, {
    headers: { authorization: `Basic ${Buffer.from('guest:guest').toString('base64')}` },
  });
  expect(res.status).toBe(200);
  const overview = (await res.json()) as { node: string; rabbitmq_version: string };
  expect(overview.node).toBe(node.name);
}, 90_000);
