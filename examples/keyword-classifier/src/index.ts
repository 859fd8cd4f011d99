export type { Rule } from './rules.js';
export { classify, DEFAULT_THRESHOLD, RULES } from './rules.js';
