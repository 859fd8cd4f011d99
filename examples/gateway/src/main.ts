#!/usr/bin/env node
// The gateway as an admin embeds it: the usual config (file + PSF_* env, as psf-gateway reads
// it) plus an owner map of our own: subaddresses (alice+lists@example.org) belong to their
// mailbox (alice@example.org), so one classifier decides for all of them.
import { gatewayOptions, loadConfig, type OwnerMap, startGateway } from '@psf/gateway';
import { pino } from 'pino';

const ownerOf: OwnerMap = (address) => address.toLowerCase().replace(/\+[^@]*@/, '@');

const config = loadConfig(process.argv[2], process.env);
const logger = pino({ name: 'psf-gateway', level: config.logLevel });
const gateway = await startGateway({ ...gatewayOptions(config), ownerOf, logger });
logger.info({ event: 'listening', ...gateway.address }, 'gateway ready');

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void gateway.close().then(() => process.exit(0));
  });
}
