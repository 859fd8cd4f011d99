import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { configSchema } from './config.js';

const README = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('psf-classify configuration', () => {
  it("accepts every configuration example of the package's README", () => {
    const examples = [...README.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((m) => JSON.parse(m[1] ?? '') as { kind?: string })
      .filter((e) => e.kind !== undefined);
    expect(examples.length).toBeGreaterThanOrEqual(2);
    for (const example of examples) {
      const parsed = configSchema().safeParse(example);
      expect(parsed.error?.message).toBeUndefined();
    }
  });
});
