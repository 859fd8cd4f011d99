// The benchmarks' classifier, in its own process (forked by lib.ts startChildClassifier):
// argv url queue noop|keyword concurrency. Says 'ready' once consuming; 'stop' closes it.
import { startClassifier } from '@psf/client-sdk';
import { classify } from '@psf/example-keyword-classifier';

const [url = '', queue = '', kind = 'noop', concurrency = '16'] = process.argv.slice(2);
const classifier = await startClassifier({
  url,
  queue,
  concurrency: Number(concurrency),
  name: 'psf-bench-classifier',
  handler: kind === 'keyword' ? (mail) => classify(mail) : () => ({ v: 1, action: 'accept' }),
});
process.send?.('ready');
process.on('message', (m) => {
  if (m === 'stop') void classifier.close().finally(() => process.exit(0));
});
// The parent died without saying stop: do not linger.
process.on('disconnect', () => void classifier.close().finally(() => process.exit(0)));
