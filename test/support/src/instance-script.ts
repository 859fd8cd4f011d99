import { execFile, execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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
  return { run, running };
}
