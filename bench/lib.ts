// Shared helpers of the benchmarks: options, statistics, test mails, CPU accounting, a classifier
// and a gateway in child processes.
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `--name=value` or `--name value` from the command line, else `fallback`. */
export function option(name: string, fallback: string): string {
  const argv = process.argv.slice(2);
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i === -1) return fallback;
  const a = argv[i] as string;
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : (argv[i + 1] ?? fallback);
}

export function numberOption(name: string, fallback: number): number {
  const n = Number(option(name, String(fallback)));
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`);
  return n;
}

export const median = (xs: number[]): number => quantile(xs, 0.5);
export const min = (xs: number[]): number => Math.min(...xs);
export const max = (xs: number[]): number => Math.max(...xs);

/** Nearest-rank quantile (no interpolation: p99 of 3000 samples is the 2970th). */
export function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return Number.NaN;
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

export const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');

// The body is built once: only the headers change per mail, so the sender's own cost stays small.
const bodies = new Map<number, string>();
/** An RFC 5322 mail (CRLF) of about `size` bytes; `id` makes Message-ID unique. */
export function makeMail(size: number, id: string): string {
  let body = bodies.get(size);
  if (body === undefined) {
    const line = 'The quick brown fox jumps over the lazy dog, 0123456789 times, lorem ipsum dolor.\r\n';
    body = line.repeat(Math.max(1, Math.round((size - 300) / line.length)));
    bodies.set(size, body);
  }
  return (
    'From: Bench <bench@example.test>\r\nTo: <rcpt@example.test>\r\n' +
    `Subject: bench ${id}\r\nMessage-ID: <${id}@bench.test>\r\nDate: ${new Date().toUTCString()}\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n${body}`
  );
}

// --- CPU accounting from /proc (Linux; clock ticks of 10 ms) -------------------------------------

const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** utime, stime, cutime, cstime of a process in ms (0 if it is gone). */
function procTimes(pid: number | string): { self: number; children: number; ppid: number } {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .map(Number);
    // After the name: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14)
    return {
      self: ((f[11] ?? 0) + (f[12] ?? 0)) * TICK_MS,
      children: ((f[13] ?? 0) + (f[14] ?? 0)) * TICK_MS,
      ppid: f[1] ?? 0,
    };
  } catch {
    return { self: 0, children: 0, ppid: 0 };
  }
}

/** CPU ms used so far by a process (without its children). */
export const processCpuMs = (pid: number): number => procTimes(pid).self;

/**
 * CPU ms used so far by a Postfix instance: master, its reaped children (cutime) and its live
 * children (smtpd, cleanup, qmgr, smtp... are all direct children of master).
 */
export function postfixCpuMs(dir: string): number {
  let master: number;
  try {
    master = Number(readFileSync(`${dir}/spool/pid/master.pid`, 'utf8').trim());
  } catch {
    return 0;
  }
  const m = procTimes(master);
  let total = m.self + m.children;
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const p = procTimes(e);
    if (p.ppid === master) total += p.self + p.children;
  }
  return total;
}

/**
 * CPU ms used so far by a process and its descendants: each one's own time, plus what its reaped
 * children left in cutime (amavisd's, spamd's and rspamd's prefork children come and go).
 */
export function treeCpuMs(root: number): number {
  const procs = new Map<number, ReturnType<typeof procTimes>>();
  for (const e of readdirSync('/proc')) if (/^\d+$/.test(e)) procs.set(Number(e), procTimes(e));
  let total = 0;
  const todo = [root];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    const p = procs.get(pid);
    if (!p) continue;
    total += p.self + p.children;
    for (const [child, c] of procs) if (c.ppid === pid) todo.push(child);
  }
  return total;
}

/** Busy and total CPU ms of the whole machine (all cores), from /proc/stat. */
export function machineCpuMs(): { busy: number; total: number } {
  const f = (readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').split(/\s+/).slice(1, 9).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
  return { busy: (total - idle) * TICK_MS, total: total * TICK_MS };
}

/** The pid of the broker listening on 127.0.0.1:5672 (shared: its CPU includes others' load). */
export function rabbitPid(): number {
  const out = execFileSync('ss', ['-ltnpH', 'sport = :5672'], { encoding: 'utf8' });
  return Number(/pid=(\d+)/.exec(out)?.[1] ?? 0);
}

/**
 * The main process of a daemon listening on `port`: of the processes sharing the listening socket
 * (a prefork master and its children), the one whose parent is not among them.
 */
export function listenerPid(port: number): number {
  const out = execFileSync('ss', ['-ltnpH', `sport = :${port}`], { encoding: 'utf8' });
  const pids = new Set([...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])));
  return [...pids].find((pid) => !pids.has(procTimes(pid).ppid)) ?? 0;
}

/** Counters sampled at the start and end of a run; `delta()` is what the run cost. */
export function cpuMeter(pids: Record<string, number>, postfixDir?: string) {
  const sample = () => {
    const m = machineCpuMs();
    const own = process.cpuUsage();
    const out: Record<string, number> = { bench: (own.user + own.system) / 1000 };
    for (const [k, pid] of Object.entries(pids)) out[k] = processCpuMs(pid);
    if (postfixDir) out.postfix = postfixCpuMs(postfixDir);
    out.machineBusy = m.busy;
    out.machineTotal = m.total;
    return out;
  };
  const start = sample();
  return {
    delta(): Record<string, number> {
      const end = sample();
      const d = Object.fromEntries(Object.entries(end).map(([k, v]) => [k, v - (start[k] ?? 0)]));
      // CPU the machine spent on anything not tracked here: other tenants' load, i.e. the noise.
      const tracked = Object.keys(pids).reduce((sum, k) => sum + (d[k] ?? 0), d.bench ?? 0);
      // Clamped: tick rounding makes it a few ms negative when nothing else ran.
      d.other = Math.max(0, (d.machineBusy ?? 0) - tracked - (d.postfix ?? 0));
      return d;
    },
  };
}

// --- A classifier in its own process, as in production (not competing for the bench's event loop) -

export interface ChildClassifier {
  pid: number;
  stop(): Promise<void>;
}

/** Forks bench/classifier-child.ts (noop or keyword handler) and waits until it consumes `queue`. */
export async function startChildClassifier(
  url: string,
  queue: string,
  kind: 'noop' | 'keyword',
  concurrency: number,
): Promise<ChildClassifier> {
  const file = fileURLToPath(new URL('./classifier-child.ts', import.meta.url));
  // process.execArgv carries tsx's loader, so the child runs TypeScript too.
  const child = fork(file, [url, queue, kind, String(concurrency)], { execArgv: process.execArgv });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('classifier child not ready in 30 s')), 30_000);
    child.once('message', () => {
      clearTimeout(timer);
      resolve();
    });
    child.once('exit', (code) => reject(new Error(`classifier child exited with ${code}`)));
  }).catch((err) => {
    child.kill();
    throw err;
  });
  return {
    pid: child.pid as number,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.send('stop');
      }),
  };
}

/** One line about the machine and versions, for the report. */
export function machine(): string {
  const v = (cmd: string, args: string[]) => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8', timeout: 30_000 }).trim();
    } catch {
      return '?';
    }
  };
  const env = { ...process.env, PATH: `/usr/sbin:/sbin:${process.env.PATH ?? ''}` };
  const rabbit = (() => {
    try {
      return execFileSync('rabbitmqctl', ['-q', 'version'], {
        encoding: 'utf8',
        env,
        timeout: 30_000,
      }).trim();
    } catch {
      return '?';
    }
  })();
  return [
    `nproc ${cpus().length} (${cpus()[0]?.model ?? '?'})`,
    `RAM ${(totalmem() / 2 ** 30).toFixed(1)} GiB`,
    `node ${process.version}`,
    `RabbitMQ ${rabbit}`,
    `Postfix ${v('/usr/sbin/postconf', ['-d', '-h', 'mail_version'])}`,
  ].join(', ');
}

// --- The gateway in its own process ----------------------------------------------------------------

export interface GatewayChild {
  pid: number;
  port: number;
  /** Its /metrics (Prometheus text) on 127.0.0.1. */
  metricsPort: number;
  warnings: string[];
  child: ChildProcess;
}

/**
 * Forks bench/gateway-child.mjs: a gateway with defaults alone in its process (plain node, its own
 * CPU and memory), reinjecting to `reinjectPort`; `execArgv` e.g. ['--cpu-prof'].
 */
export async function startGatewayChild(
  amqpUrl: string,
  reinjectPort: number,
  execArgv: string[] = [],
  reinjectPoolSize = 10,
): Promise<GatewayChild> {
  const file = fileURLToPath(new URL('./gateway-child.mjs', import.meta.url));
  const child = fork(file, [amqpUrl, String(reinjectPort), String(reinjectPoolSize)], { execArgv });
  const warnings: string[] = [];
  const { port, metricsPort } = await new Promise<{ port: number; metricsPort: number }>(
    (resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('gateway child not ready in 30 s')), 30_000);
      type Message = { port?: number; metricsPort?: number; level?: string; msg?: string; err?: string };
      child.on('message', (m: Message) => {
        if (m.port) {
          clearTimeout(timer);
          resolve({ port: m.port, metricsPort: m.metricsPort ?? 0 });
        } else warnings.push(`${m.level}: ${m.msg} ${m.err}`);
      });
      child.once('exit', (code) => reject(new Error(`gateway child exited with ${code}`)));
    },
  ).catch((err) => {
    child.kill('SIGKILL');
    throw err;
  });
  return { pid: child.pid as number, port, metricsPort, warnings, child };
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  if (child.connected) child.send('stop');
  else child.kill('SIGKILL');
  await exited;
  clearTimeout(timer);
}

/** Cumulative counts of a Prometheus histogram by bucket bound (`le`), from /metrics text. */
export async function histogramBuckets(metricsPort: number, name: string): Promise<Map<number, number>> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  const buckets = new Map<number, number>();
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, 'gm');
  for (const m of text.matchAll(re))
    buckets.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  return buckets;
}

/**
 * Counts a process's system calls (all its threads) with `strace -c` from now until `stop()`:
 * calls by name. Counts, unlike seconds, do not move with the machine's other load; strace slows
 * the process down, so rates measured meanwhile mean nothing.
 */
export async function syscallCounter(pid: number): Promise<{ stop(): Promise<Map<string, number>> }> {
  const dir = mkdtempSync(join(tmpdir(), 'psf-strace-'));
  const out = join(dir, 'counts');
  const strace = spawn('strace', ['-c', '-f', '-q', '-o', out, '-p', String(pid)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500)); // attached to every thread
  return {
    async stop() {
      const exited = once(strace, 'exit');
      strace.kill('SIGINT');
      await exited;
      const calls = new Map<string, number>();
      // "% time  seconds  usecs/call  calls  errors  syscall": the name is last, calls fourth.
      for (const line of readFileSync(out, 'utf8').split('\n')) {
        const cols = line.trim().split(/\s+/);
        const name = cols.at(-1) ?? '';
        if (!/^\d/.test(cols[0] ?? '') || name === 'total' || cols.length < 5) continue;
        calls.set(name, Number(cols[3]));
      }
      rmSync(dir, { recursive: true, force: true });
      return calls;
    },
  };
}
