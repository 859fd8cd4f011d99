// The rules now live in @psf/classifiers; re-exported under this example's name for the tests,
// the benchmarks and the demo that import it.
export type { Rule } from '@psf/classifiers';
export { classify, DEFAULT_THRESHOLD, RULES } from '@psf/classifiers';
