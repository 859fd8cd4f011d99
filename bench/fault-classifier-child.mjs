// The fault harness's classifier (bench/fault-harness.ts), alone in its process so it can be
// kill -9'd. Plain JavaScript for plain node, as gateway-child.mjs.
//   argv: AMQP_URL QUEUE. Accepts every mail. Sends 'ready' once consuming. Messages: 'hang' (the
//   handler stops answering until 'release': the gateway's timeout policy applies), 'release',
//   'stop'.
import { startClassifier } from '@psf/client-sdk';

const [url = '', queue = ''] = process.argv.slice(2);
/** While hanging: a promise every handler waits on, and the function that ends the hang. */
let hung;
const hang = () => {
  let release = () => {};
  const promise = new Promise((r) => {
    release = r;
  });
  return { promise, release };
};
const classifier = await startClassifier({
  url,
  queue,
  name: 'psf-fault-classifier',
  handler: async () => {
    if (hung) await hung.promise;
    return { v: 1, action: 'accept', score: 0 };
  },
});
process.send?.('ready');
const stop = () => {
  hung?.release();
  void classifier.close().finally(() => process.exit(0));
};
process.on('message', (m) => {
  if (m === 'hang') hung ??= hang();
  else if (m === 'release') {
    hung?.release();
    hung = undefined;
  } else if (m === 'stop') stop();
});
// The parent died without saying stop: do not linger.
process.on('disconnect', stop);
