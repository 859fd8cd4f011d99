import { rm } from 'node:fs/promises';
import { freePort } from './net.js';

/** Runs an instance script's `start DIR PORT ...` on a free port, retrying when another worker took the port first. */
export async function startOnFreePort(
  script: (args: string[], timeoutMs?: number) => Promise<string>,
  running: Set<string>,
  dir: string,
  extraArgs: string[],
  timeoutMs = 60_000,
): Promise<number> {
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      try {
        running.add(dir);
        await script(['start', dir, `${port}`, ...extraArgs], timeoutMs);
        return port;
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
}
