import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';

export interface Vhost {
  name: string;
  /** amqp URL for guest on the shared broker, this vhost selected. */
  url: string;
  /** Deletes the vhost (and so everything declared in it). */
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

// As root /usr/sbin/rabbitmqctl runs as user rabbitmq, with the broker's cookie.
function rabbitmqctl(args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH ?? '/usr/bin:/bin'}` };
    execFile('rabbitmqctl', ['-q', ...args], { timeout: 30_000, env }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`rabbitmqctl ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve();
    });
  });
}

/** A fresh vhost `psf-test-<random>` on the broker at 127.0.0.1:5672, guest given full rights in it. */
export async function createVhost(): Promise<Vhost> {
  const name = `psf-test-${randomBytes(6).toString('hex')}`;
  await rabbitmqctl(['add_vhost', name]);
  try {
    await rabbitmqctl(['set_permissions', '-p', name, 'guest', '.*', '.*', '.*']);
  } catch (err) {
    await rabbitmqctl(['delete_vhost', name]).catch(() => {});
    throw err;
  }
  let closed: Promise<void> | undefined;
  const close = () => {
    closed ??= rabbitmqctl(['delete_vhost', name]);
    return closed;
  };
  return {
    name,
    url: `amqp://guest:guest@127.0.0.1:5672/${encodeURIComponent(name)}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}
