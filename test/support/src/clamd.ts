import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { disposer, instanceScript } from './instance-script.js';

const { start, stopper } = instanceScript('clamd-instance.sh', 15000);

/** The EICAR anti-virus test file: harmless, and found by every scanner (ours: Psf.Test.EICAR). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

export interface Clamd {
  host: string;
  port: number;
  /** What clamd names the EICAR file it finds: the test database's signature. */
  eicarName: string;
  stop(): Promise<void>;
  /** stop() and remove its dir. */
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * A private clamd (scripts/clamd-instance.sh) on a free 127.0.0.1 port whose only signature is
 * EICAR's; dispose it to stop and remove. Starts in well under a second.
 */
export async function startClamd(): Promise<Clamd> {
  const dir = await mkdtemp(join(tmpdir(), 'psf-clamd-'));
  const [port = 0] = await start(dir, ([p]) => ['start', dir, `${p}`]);
  const stop = stopper(dir);
  return {
    host: '127.0.0.1',
    port,
    eicarName: 'Psf.Test.EICAR.UNOFFICIAL',
    stop,
    [Symbol.asyncDispose]: disposer(stop, dir),
  };
}
