// The gateway of bench/memory.ts, alone in its process so that /proc/<pid>/status is its memory.
// Plain JavaScript for plain node: tsx's loader would add about 35 MB of RSS that production has not.
//   argv: AMQP_URL REINJECT_PORT [REINJECT_POOL_SIZE]. Sends { port, metricsPort } once ready (metrics on a free
//   loopback port), { level, msg, err } per warning or error; 'stop' closes it.
import { startGateway } from '@psf/gateway';

const [amqpUrl = '', reinjectPort = '', poolSize = '10'] = process.argv.slice(2);
const report = (level) => (obj, msg) => process.send?.({ level, msg, err: String(obj?.err ?? '') });
const gateway = await startGateway({
  amqpUrl,
  listen: { port: 0 },
  reinject: { port: Number(reinjectPort), poolSize: Number(poolSize) },
  metrics: { port: 0 },
  logger: { debug() {}, info() {}, warn: report('warn'), error: report('error') },
});
await gateway.ready(10_000);
process.send?.({ port: gateway.address.port, metricsPort: gateway.metricsAddress?.port });
const stop = () => void gateway.close().finally(() => process.exit(0));
process.on('message', (m) => m === 'stop' && stop());
// The parent died without saying stop: do not linger.
process.on('disconnect', stop);
