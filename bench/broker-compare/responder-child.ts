// The responders of bench/broker-compare.ts in their own process, as a classifier runs in
// production: argv[2] is JSON { ids, endpoints }; sends 'ready' once every responder consumes,
// and closes them all on 'stop' (or when the bench goes away).

import type { Closable, Endpoints, VariantId } from './variant.js';
import { makeVariant } from './variants.js';

const { ids, endpoints } = JSON.parse(process.argv[2] ?? '{}') as { ids: VariantId[]; endpoints: Endpoints };
const responders: Closable[] = [];
const stop = async (code: number) => {
  await Promise.allSettled(responders.map((r) => r.close()));
  process.exit(code);
};
process.on('message', () => void stop(0));
process.on('disconnect', () => void stop(0));
try {
  for (const id of ids) responders.push(await makeVariant(id, endpoints).respond());
  process.send?.('ready');
} catch (err) {
  console.error(`responder: ${(err as Error).message}`);
  await stop(1);
}
