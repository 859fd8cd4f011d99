// What one message between two processes costs here, back to back and with the processes idle in
// between (as in the chain at a few hundred mails/s): CPU per round trip on each side.
//   npx tsx bench/wakeup-cost.ts [--n 20000] [--paced-n 2000] [--gap-ms 4]
// A child echoes one byte over loopback TCP (noDelay); the parent sends the next byte at once, or
// gap-ms after the echo arrived, so both processes sleep between round trips.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { type AddressInfo, connect, createServer } from 'node:net';
import { fmt, numberOption } from './lib.js';

if (process.argv[2] === 'echo') {
  let start: NodeJS.CpuUsage | undefined;
  const server = createServer((socket) => {
    start = process.cpuUsage(); // from the first round trip on, not the process's start
    socket.setNoDelay(true);
    socket.on('data', (d) => socket.write(d));
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as AddressInfo).port));
  process.on('message', () => {
    process.send?.(process.cpuUsage(start));
    setImmediate(() => process.exit(0));
  });
} else {
  for (const [n, gapMs] of [
    [numberOption('n', 20000), 0],
    [numberOption('paced-n', 2000), numberOption('gap-ms', 4)],
  ] as const) {
    const child = fork(new URL(import.meta.url).pathname, ['echo'], { execArgv: process.execArgv });
    const [port] = (await once(child, 'message')) as [number];
    const socket = connect(port, '127.0.0.1').setNoDelay(true);
    await once(socket, 'connect');
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let done = 0;
    await new Promise<void>((resolve) => {
      socket.on('data', () => {
        if (++done >= n) return resolve();
        if (gapMs) setTimeout(() => socket.write('x'), gapMs);
        else socket.write('x');
      });
      socket.write('x');
    });
    const seconds = (performance.now() - t0) / 1000;
    const mine = process.cpuUsage(cpu0);
    child.send('cpu');
    const [theirs] = (await once(child, 'message')) as [NodeJS.CpuUsage];
    socket.destroy();
    const us = (u: NodeJS.CpuUsage) => fmt((u.user + u.system) / n);
    console.log(
      `${gapMs ? `idle ${gapMs} ms between` : 'back to back'}: ${n} round trips, ${fmt((1e6 * seconds) / n)} us each; ` +
        `CPU per round trip: sender ${us(mine)} us, echo ${us(theirs)} us`,
    );
  }
}
