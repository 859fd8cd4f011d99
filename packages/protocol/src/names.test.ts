import { describe, expect, it } from 'vitest';
import { isValidOwner, ownerOfQueue, userQueue } from './names.js';

describe('names', () => {
  it('builds personal queue names', () => {
    expect(userQueue('alice@example.org')).toBe('psf.user.alice@example.org');
  });

  it('reads the owner back from a personal queue only', () => {
    expect(ownerOfQueue(userQueue('alice@example.org'))).toBe('alice@example.org');
    expect(ownerOfQueue('psf.user.')).toBeUndefined();
    expect(ownerOfQueue('psf.default')).toBeUndefined();
  });

  it('accepts addresses and refuses empty, spaced, control-character and over-long owners', () => {
    expect(isValidOwner('alice@example.org')).toBe(true);
    expect(isValidOwner('')).toBe(false);
    expect(isValidOwner('a b')).toBe(false);
    expect(isValidOwner('a\nb')).toBe(false);
    expect(isValidOwner('x'.repeat(240))).toBe(true);
    expect(isValidOwner('x'.repeat(241))).toBe(false);
  });
});
