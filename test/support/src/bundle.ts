import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build, type Plugin } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** As in vitest.config.ts: @psf/* from their sources, so nothing needs building first. */
const psfSources: Plugin = {
  name: 'psf-sources',
  setup(b) {
    b.onResolve({ filter: /^@psf\/[\w-]+$/ }, ({ path }) => {
      const src = join(ROOT, 'packages', path.slice('@psf/'.length), 'src', 'index.ts');
      return existsSync(src) ? { path: src } : undefined;
    });
  },
};

const bundles = new Map<string, Promise<string>>();

/**
 * `entry` and everything it imports, Node built-ins aside, as one ESM file (esbuild; cached per
 * entry): it runs without node_modules or this checkout.
 */
export function bundle(entry: string): Promise<string> {
  let code = bundles.get(entry);
  if (!code) {
    code = build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      write: false,
      metafile: true,
      logLevel: 'silent',
      plugins: [psfSources],
      // CommonJS dependencies (amqplib) require() built-ins, and ESM has no require().
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
    }).then(({ outputFiles, metafile }) => {
      const left = Object.values(metafile.outputs)
        .flatMap((o) => o.imports.map((i) => i.path))
        .filter((path) => !isBuiltin(path));
      if (left.length) throw new Error(`bundle ${entry}: still imports ${left.join(', ')}`);
      return (outputFiles[0] as { text: string }).text;
    });
    bundles.set(entry, code);
  }
  return code;
}

export interface NodeCommandOptions {
  /** TypeScript entry point; bundled into `<dir>/<name>.mjs`. */
  entry: string;
  /** Where the bundle and the `#!/bin/sh` wrapper `<dir>/<name>` go; `user` must reach it. */
  dir: string;
  name: string;
  /** Exported by the wrapper (e.g. PSF_* settings): readable by whoever may run it. */
  env?: Record<string, string>;
  /** Who must be able to run the command (checked). Default nobody, as Postfix's pipe(8) runs it. */
  user?: string;
}

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;

/**
 * Installs a Node program as a command another user can run without reading this checkout (a CI
 * clone's permissions are unknown): one bundled file and a wrapper that execs this very node.
 * Resolves with the wrapper's path. Writing it again replaces both (e.g. with other `env`).
 */
export async function writeNodeCommand(o: NodeCommandOptions): Promise<string> {
  const script = join(o.dir, `${o.name}.mjs`);
  const command = join(o.dir, o.name);
  const exports = Object.entries(o.env ?? {}).map(([k, v]) => `export ${k}=${quote(v)}\n`);
  await writeFile(script, await bundle(o.entry));
  await writeFile(
    command,
    `#!/bin/sh\n${exports.join('')}exec ${quote(process.execPath)} ${quote(script)} "$@"\n`,
  );
  await chmod(script, 0o644);
  await chmod(command, 0o755);
  const user = o.user ?? 'nobody';
  // Each parent directory included: `test -x` and node's start fail if any cannot be searched.
  const check = 'test -x "$0" && test -r "$1" && exec "$2" -e ""';
  const args = ['-u', user, '--', 'sh', '-c', check, command, script, process.execPath];
  await promisify(execFile)('runuser', args).catch((err: Error) => {
    throw new Error(`${user} cannot run ${command} (node ${process.execPath}): check the permissions`, {
      cause: err,
    });
  });
  return command;
}
