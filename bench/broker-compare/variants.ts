// The variants of bench/broker-compare.ts, in table order. The first (persistent requests, the RPC
// client's `persistent: true`) is the baseline of every ratio; psf's default is the second.
import { activeMqVariant } from './activemq.js';
import { natsCoreVariant, natsJetStreamVariant } from './nats.js';
import { rabbitVariant } from './rabbitmq.js';
import type { Endpoints, Variant, VariantId } from './variant.js';

export const LABELS: Record<VariantId, string> = {
  'rabbit-classic-direct-persistent': '1 RabbitMQ classic, direct reply-to, persistent (baseline)',
  'rabbit-classic-direct-transient': '2 RabbitMQ classic, direct reply-to, transient (psf default)',
  'rabbit-classic-reply-queue': '3 RabbitMQ classic, exclusive reply queue, persistent',
  'rabbit-quorum-direct': '4 RabbitMQ quorum, direct reply-to',
  'nats-core': '5 NATS core request/reply',
  'nats-jetstream': '6 NATS JetStream work queue, core reply',
  'activemq-stomp': '7 ActiveMQ STOMP, persistent, temp-queue reply',
};

/** The broker each variant runs on, for its CPU column. */
export const BROKER: Record<VariantId, 'rabbitmq' | 'nats' | 'activemq'> = {
  'rabbit-classic-direct-persistent': 'rabbitmq',
  'rabbit-classic-direct-transient': 'rabbitmq',
  'rabbit-classic-reply-queue': 'rabbitmq',
  'rabbit-quorum-direct': 'rabbitmq',
  'nats-core': 'nats',
  'nats-jetstream': 'nats',
  'activemq-stomp': 'activemq',
};

export function makeVariant(id: VariantId, ep: Endpoints): Variant {
  switch (id) {
    case 'rabbit-classic-direct-persistent':
      return rabbitVariant(id, ep, { queueType: 'classic', reply: 'direct', persistent: true });
    case 'rabbit-classic-direct-transient':
      return rabbitVariant(id, ep, { queueType: 'classic', reply: 'direct', persistent: false });
    case 'rabbit-classic-reply-queue':
      return rabbitVariant(id, ep, { queueType: 'classic', reply: 'queue', persistent: true });
    case 'rabbit-quorum-direct':
      // Quorum queues store every message on disk whatever its delivery mode.
      return rabbitVariant(id, ep, { queueType: 'quorum', reply: 'direct', persistent: true });
    case 'nats-core':
      return natsCoreVariant(ep);
    case 'nats-jetstream':
      return natsJetStreamVariant(ep);
    case 'activemq-stomp':
      return activeMqVariant(ep);
  }
}
