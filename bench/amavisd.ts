// A private amavisd-new for bench/peers.ts: its own config, home and work dirs, pid file and
// 127.0.0.1 port, forwarding every mail to a Postfix reinjection port. Started in the foreground
// (the child's pid is amavisd's master) and stopped by that pid.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const PACKAGE = 'amavisd-new';
const POLICY_RC = '/usr/sbin/policy-rc.d';

const installed = (pkg: string): boolean => {
  try {
    return execFileSync('dpkg', ['-s', pkg], { encoding: 'utf8' }).includes('Status: install ok installed');
  } catch {
    return false;
  }
};

/** Installs the Debian package if missing (root), with the packaged daemon kept stopped. */
export function ensureAmavisdInstalled(): void {
  if (installed(PACKAGE)) return;
  console.error(`peers: installing ${PACKAGE} (scripts/services.sh installs it on a fresh machine)`);
  // policy-rc.d exiting 101 forbids starting services during the install; ours is removed after.
  const ours = !existsSync(POLICY_RC);
  if (ours) writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Other engineers' installs may hold the dpkg lock: wait for it rather than fail.
    const install = () =>
      execFileSync('apt-get', ['-o', 'DPkg::Lock::Timeout=300', 'install', '-y', '-qq', PACKAGE], {
        env,
        stdio: ['ignore', 'ignore', 'inherit'],
        timeout: 600_000,
      });
    try {
      install();
    } catch {
      execFileSync('apt-get', ['update', '-qq'], { env, stdio: 'inherit', timeout: 300_000 });
      install();
    }
  } finally {
    if (ours) rmSync(POLICY_RC, { force: true });
  }
}

export interface AmavisdOptions {
  /** Where amavisd listens (Postfix's content_filter = scan:[127.0.0.1]:port). */
  port: number;
  /** The Postfix smtpd where amavisd reinjects (no content_filter there). */
  forwardPort: number;
  /** Embedded SpamAssassin (local tests only, no Bayes); false: spam checks bypassed, SA not loaded. */
  spamassassin: boolean;
  /** Prefork children ($max_servers): mails scanned at once. */
  children: number;
}

export interface Amavisd {
  /** The master's pid; its children are the scanners. */
  pid: number;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/**
 * amavisd refuses a config file in a dir the amavis user can write: DIR (root) holds the config
 * and SpamAssassin's site config, DIR/work (amavis) its home, temp files and log.
 */
function amavisdConf(dir: string, o: AmavisdOptions): string {
  const work = join(dir, 'work');
  return `use strict;
$MYHOME = '${work}';
$TEMPBASE = '${work}/tmp';
$db_home = '${work}/db';
$helpers_home = '${work}/var';
$pid_file = '${work}/amavisd.pid';
$lock_file = '${work}/amavisd.lock';
$LOGFILE = '${work}/amavisd.log';
$DO_SYSLOG = 0;
$log_level = 0;
$daemon_user = 'amavis';
$daemon_group = 'amavis';
$mydomain = 'pf.test';
$myhostname = 'amavis.pf.test';
$max_servers = ${o.children};
$inet_socket_bind = '127.0.0.1';
$inet_socket_port = ${o.port};
@inet_acl = qw(127.0.0.1);
@mynetworks = qw(127.0.0.0/8);
@local_domains_maps = (['.']);
$forward_method = 'smtp:[127.0.0.1]:${o.forwardPort}';
$notify_method = $forward_method;
$enable_db = 0;
$enable_global_cache = 0;
$enable_zmq = 0;
$enable_dkim_verification = 0;
$enable_dkim_signing = 0;
$file = 'file';
@av_scanners = ();
@av_scanners_backup = ();
@bypass_virus_checks_maps = (1);
@bypass_banned_checks_maps = (1);
@bypass_header_checks_maps = (1);
@bypass_spam_checks_maps = (${o.spamassassin ? 0 : 1});
${o.spamassassin ? '' : '@spam_scanners = ();\n'}$final_virus_destiny = D_PASS;
$final_banned_destiny = D_PASS;
$final_spam_destiny = D_PASS;
$final_bad_header_destiny = D_PASS;
$virus_admin = undef;
$spam_admin = undef;
$sa_local_tests_only = 1;
$sa_siteconfigpath = '${dir}/sa';
$sa_userprefs_file = undef;
$sa_tag_level_deflt = -9999;
$sa_tag2_level_deflt = 5.0;
$sa_kill_level_deflt = 9999;
1;
`;
}

/** The greeting of an SMTP server on 127.0.0.1:port, or undefined if none within 2 s. */
function greeting(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (line: string | undefined) => {
      clearTimeout(timer);
      s.destroy();
      resolve(line);
    };
    const timer = setTimeout(() => done(undefined), 2000);
    s.once('data', (b: Buffer) => done(b.toString('latin1')));
    s.once('error', () => done(undefined));
  });
}

/** Starts a private amavisd and waits (up to 120 s: SpamAssassin compiles its rules) for its 220. */
export async function startAmavisd(o: AmavisdOptions): Promise<Amavisd> {
  const dir = await mkdtemp(join(tmpdir(), 'psf-amavisd-'));
  chmodSync(dir, 0o755);
  const work = join(dir, 'work');
  for (const d of ['sa', 'work/tmp', 'work/db', 'work/var']) mkdirSync(join(dir, d), { recursive: true });
  // The same SpamAssassin site config as scripts/spamd-instance.sh: packaged plugin loads, our local.cf.
  for (const f of readdirSync('/etc/spamassassin').filter((f) => f.endsWith('.pre')))
    copyFileSync(join('/etc/spamassassin', f), join(dir, 'sa', f));
  writeFileSync(
    join(dir, 'sa', 'local.cf'),
    'use_bayes 0\nbayes_auto_learn 0\ndns_available no\nskip_rbl_checks 1\n',
  );
  writeFileSync(join(dir, 'amavisd.conf'), amavisdConf(dir, o), { mode: 0o644 });
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  execFileSync('chown', ['-R', 'amavis:amavis', work]);

  const out = openSync(join(dir, 'amavisd.out'), 'a');
  // detached: its own process group, so a stuck child can be killed with it by the master's pid.
  const child: ChildProcess = spawn('amavisd', ['-c', join(dir, 'amavisd.conf'), 'foreground'], {
    detached: true,
    stdio: ['ignore', out, out],
    env: { ...process.env, PATH: `/usr/sbin:/usr/bin:/sbin:/bin` },
  });
  const pid = child.pid as number;
  const exited = once(child, 'exit');
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        await exited;
        clearTimeout(timer);
      }
      // Children left behind by a killed master share its process group.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {}
      await rm(dir, { recursive: true, force: true });
    })();
    return stopped;
  };
  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error('amavisd exited');
      if ((await greeting(o.port))?.startsWith('220')) break;
      if (Date.now() > deadline) throw new Error('no 220 within 120 s');
      await new Promise((r) => setTimeout(r, 500));
    }
  } catch (err) {
    const log = async (f: string) => (await readFile(join(f), 'utf8').catch(() => '')).split('\n').slice(-15);
    const tail = [...(await log(join(dir, 'amavisd.out'))), ...(await log(join(work, 'amavisd.log')))];
    await stop();
    throw new Error(`amavisd on 127.0.0.1:${o.port}: ${(err as Error).message}\n${tail.join('\n')}`);
  }
  return { pid, port: o.port, dir, stop };
}
