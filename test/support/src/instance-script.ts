import { execFile, execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './net.js';

// rabbitmqctl listens on one of 35672-35682 for a node's reply (the range is fixed, whatever the
// node's ports): no instance may take those, or concurrent CLI calls fail.
const cliPort = (p: number) => p >= 35672 && p <= 35682;

/** `n` distinct free ports. */
export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) {
    const p = await freePort();
    if (!cliPort(p)) ports.add(p);
  }
  return [...ports];
}

/** An instance's dispose: stop it, then remove its dir whatever the stop did. */
export function disposer(stop: () => Promise<void>, dir: string): () => Promise<void> {
  return async () => {
    try {
      await stop();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
}

export interface StartOptions {
  /** Ports the instance needs. Default 1. */
  ports?: number;
  timeoutMs?: number;
  /** How the script says another process took a port first: retried with new ports. */
  clash?: RegExp;
  /** Tries before giving up. Default 3. */
  attempts?: number;
}

/**
 * One of the project's instance scripts (scripts/<name>: start/stop a private daemon in a dir),
 * run from tests. Dirs marked running are stopped when the worker exits, as a best effort if a
 * test file dies without disposing: no daemon may outlive it.
 */
export function instanceScript(name: string, stopTimeoutMs: number) {
  const path = fileURLToPath(new URL(`../../../scripts/${name}`, import.meta.url));
  const running = new Set<string>();
  process.once('exit', () => {
    for (const dir of running) {
      try {
        execFileSync('bash', [path, 'stop', dir], { timeout: stopTimeoutMs, stdio: 'ignore' });
      } catch {}
    }
  });
  const run = (args: string[], timeoutMs = 30_000): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile('bash', [path, ...args], { timeout: timeoutMs }, (err, stdout, stderr) => {
        if (err) reject(new Error(`${name} ${args.join(' ')}: ${stderr.trim() || err.message}`));
        else resolve(stdout);
      });
    });
  /**
   * Runs `start` (`argsOf(ports)` gives the script's arguments) on fresh free ports, with new ones
   * when another worker bound one first (freePort() can race); on failure the instance is
   * stopped and `dir` removed. Resolves the ports used.
   */
  const start = async (dir: string, argsOf: (ports: number[]) => string[], o: StartOptions = {}) => {
    const clash = o.clash ?? /Address already in use/;
    try {
      for (let attempt = 1; ; attempt++) {
        const ports = await freePorts(o.ports ?? 1);
        try {
          running.add(dir);
          await run(argsOf(ports), o.timeoutMs ?? 60_000);
          return ports;
        } catch (err) {
          if (attempt >= (o.attempts ?? 3) || !clash.test(String(err))) throw err;
        }
      }
    } catch (err) {
      await run(['stop', dir], Math.max(stopTimeoutMs, 30_000)).catch(() => {});
      running.delete(dir);
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
  };
  /** The instance's stop, run once however often it is called. */
  const stopper = (dir: string) => {
    let stopped: Promise<void> | undefined;
    return () => {
      stopped ??= run(['stop', dir], Math.max(stopTimeoutMs, 30_000)).then(() => {
        running.delete(dir);
      });
      return stopped;
    };
  };
  return { run, running, start, stopper };
}
