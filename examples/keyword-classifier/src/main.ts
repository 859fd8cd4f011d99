#!/usr/bin/env node
// The seed's client email parser example: consumes a psf queue, scores each mail by the rules of
// @psf/classifiers (headers, body, URLs), answers. PSF_AMQP_URL (default
// amqp://guest:guest@127.0.0.1:5672/psf), PSF_QUEUE (default psf.default), PSF_THRESHOLD (default 5).
// For configuration files, other kinds and a composite, run `psf-classify` instead.
import { createRulesClassifier, DEFAULT_THRESHOLD } from '@psf/classifiers';
import { startClassifier } from '@psf/client-sdk';
import { DEFAULT_QUEUE } from '@psf/protocol';
import { pino } from 'pino';

const logger = pino({ name: 'keyword-classifier' });
const threshold = Number(process.env.PSF_THRESHOLD ?? DEFAULT_THRESHOLD);
if (!Number.isFinite(threshold)) throw new Error('PSF_THRESHOLD must be a number');

const classifier = await startClassifier({
  url: process.env.PSF_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672/psf',
  queue: process.env.PSF_QUEUE ?? DEFAULT_QUEUE,
  handler: createRulesClassifier({ thresholds: { tag: threshold } }),
  logger,
});
logger.info({ event: 'ready', queue: process.env.PSF_QUEUE ?? DEFAULT_QUEUE, threshold }, 'classifying');
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void classifier.close().then(() => process.exit(0));
  });
}
