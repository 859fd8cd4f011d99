import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposer, instanceScript } from './instance-script.js';
import { freePort } from './net.js';

const { start, stopper } = instanceScript('rspamd-instance.sh', 15000);
// Compiled hyperscan databases, kept between instances: the first start takes ~10 s, later ones <1 s.
const hsCache = join(tmpdir(), 'psf-rspamd-hs-cache');

export interface Rspamd {
  /** `http://127.0.0.1:PORT`: the normal worker (POST /checkv2). */
  url: string;
  port: number;
  /** The proxy worker in milter mode (Postfix's `smtpd_milters = inet:127.0.0.1:PORT`), if asked for. */
  milterPort: number | undefined;
  stop(): Promise<void>;
  /** stop() and remove its dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

export interface StartRspamdOptions {
  /** Also run a milter (the proxy worker in milter mode, scanning itself) on a free port. */
  milter?: boolean;
}

/**
 * A private rspamd (scripts/rspamd-instance.sh) with the packaged rules, offline (no DNS, no
 * Redis), its scanner on a free 127.0.0.1 port; dispose it to stop and remove.
 */
export async function startRspamd(opts: StartRspamdOptions = {}): Promise<Rspamd> {
  const dir = await mkdtemp(join(tmpdir(), 'psf-rspamd-'));
  const milterPort = opts.milter ? await freePort() : undefined;
  const [port = 0] = await start(dir, ([p]) => [
    'start',
    dir,
    `${p}`,
    hsCache,
    ...(milterPort ? [`${milterPort}`] : []),
  ]);
  const stop = stopper(dir);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    milterPort,
    stop,
    [Symbol.asyncDispose]: disposer(stop, dir),
  };
}
