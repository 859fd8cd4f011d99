// A private ActiveMQ broker for the bench: its own data directory and STOMP port on 127.0.0.1,
// started and stopped by PID (the Debian package's system instance is never used).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@psf/testkit';

const HOME = '/usr/share/activemq';
const JAR = `${HOME}/bin/activemq.jar`;

export interface PrivateActiveMq {
  pid: number;
  stompPort: number;
  version: string;
  stop(): Promise<void>;
}

/** The Debian package, installed if missing (the bench runs as root here, like CI). */
function ensureInstalled(): string {
  if (!existsSync(JAR)) {
    if (process.getuid?.() !== 0)
      throw new Error('package activemq is not installed (apt-get install activemq)');
    execFileSync('apt-get', ['install', '-y', '-q', 'activemq'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'ignore',
      timeout: 300_000,
    });
  }
  // "activemq<TAB>version"
  return execFileSync('dpkg-query', ['-W', 'activemq'], { encoding: 'utf8' }).trim().split('\t')[1] ?? '?';
}

const config = (port: number) => `<beans xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
  <broker xmlns="http://activemq.apache.org/schema/core" brokerName="psf-bench" useJmx="false"
          dataDirectory="\${activemq.data}">
    <persistenceAdapter><kahaDB directory="\${activemq.data}/kahadb"/></persistenceAdapter>
    <transportConnectors>
      <transportConnector name="stomp" uri="stomp://127.0.0.1:${port}?transport.tcpNoDelay=true"/>
    </transportConnectors>
  </broker>
</beans>
`;

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ port, host: '127.0.0.1' });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export async function startActiveMq(): Promise<PrivateActiveMq> {
  const version = ensureInstalled();
  const dir = mkdtempSync(join(tmpdir(), 'psf-activemq-'));
  const stompPort = await freePort();
  writeFileSync(join(dir, 'activemq.xml'), config(stompPort));
  const logFile = join(dir, 'broker.log');
  const log = openSync(logFile, 'a');
  const child: ChildProcess = spawn(
    'java',
    [
      '-Xms256M',
      '-Xmx512M',
      `-Dactivemq.home=${HOME}`,
      `-Dactivemq.base=${dir}`,
      `-Dactivemq.conf=${dir}`,
      `-Dactivemq.data=${join(dir, 'data')}`,
      '-jar',
      JAR,
      'start',
      `xbean:file:${join(dir, 'activemq.xml')}`,
    ],
    { cwd: dir, stdio: ['ignore', log, log] },
  );
  // Even if the bench dies on an exception, the broker does not outlive it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const stop = async () => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const until = Date.now() + 90_000;
    while (!(await portOpen(stompPort))) {
      if (child.exitCode !== null) throw new Error(`java exited with ${child.exitCode}`);
      if (Date.now() > until) throw new Error('STOMP port not open within 90 s');
      await new Promise((r) => setTimeout(r, 250));
    }
  } catch (err) {
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n');
    await stop();
    throw new Error(`ActiveMQ did not start: ${(err as Error).message}\n${tail}`);
  }
  return { pid: child.pid as number, stompPort, version, stop };
}
