import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposer, instanceScript } from './instance-script.js';

const { start, stopper } = instanceScript('spamd-instance.sh', 15000);

export interface Spamd {
  host: string;
  port: number;
  /** A spamc user whose preferences say required_score 1.0 (the others get the default 5.0). */
  strictUser: string;
  stop(): Promise<void>;
  /** stop() and remove its dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A private spamd (scripts/spamd-instance.sh) on a free 127.0.0.1 port with the packaged rules,
 * local tests only; dispose it to stop and remove. Starts in ~3 s.
 */
export async function startSpamd(): Promise<Spamd> {
  const dir = await mkdtemp(join(tmpdir(), 'psf-spamd-'));
  const [port = 0] = await start(dir, ([p]) => ['start', dir, `${p}`]);
  const stop = stopper(dir);
  return {
    host: '127.0.0.1',
    port,
    strictUser: 'strict',
    stop,
    [Symbol.asyncDispose]: disposer(stop, dir),
  };
}
