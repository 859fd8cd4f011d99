import { execFileSync } from 'node:child_process';
import { expect, it } from 'vitest';
import { createVhost, sendMail, startSink } from './index.js';

const mail = { from: 'a@example.test', to: ['b@example.test'], subject: 's', text: 't' };

it('sink: reply() refuses at end of DATA; waitFor() times out listing what arrived', async () => {
  await using sink = await startSink({
    reply: (m) => (m.rcpt[0] === 'no@example.test' ? { code: 451, message: '4.7.1 later' } : undefined),
  });
  await expect(sendMail(sink.port, { ...mail, to: ['no@example.test'] })).rejects.toThrow(/451 4.7.1 later/);
  expect(await sendMail(sink.port, mail)).toMatch(/^250 /);
  expect(sink.rejected.map((m) => m.rcpt)).toEqual([['no@example.test']]);
  await expect(sink.waitFor(2, 200)).rejects.toThrow(
    /got 1:\n.*<a@example.test> -> b@example.test\nrefused:/,
  );
});

it('createVhost: a fresh vhost guest may use, deleted on dispose', async () => {
  const vhosts = () =>
    execFileSync('rabbitmqctl', ['-q', 'list_vhosts', 'name'], { encoding: 'utf8' }).split('\n');
  let name: string;
  {
    await using vhost = await createVhost();
    name = vhost.name;
    expect(vhost.url).toBe(`amqp://guest:guest@127.0.0.1:5672/${name}`);
    const perms = execFileSync('rabbitmqctl', ['-q', 'list_permissions', '-p', name], { encoding: 'utf8' });
    expect(perms).toMatch(/^guest\s+\.\*\s+\.\*\s+\.\*$/m);
  }
  expect(vhosts()).not.toContain(name);
});
