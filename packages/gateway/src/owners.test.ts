import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isPsfError } from '@psf/protocol';
import { afterAll, describe, expect, it } from 'vitest';
import { addressIsOwner, groupByOwner, readOwnerMap } from './owners.js';

const dir = mkdtempSync(join(tmpdir(), 'psf-owners-'));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function mapFile(text: string): string {
  const path = join(dir, `${++files}-owners`);
  writeFileSync(path, text);
  return path;
}

describe('owner maps', () => {
  it('matches the address, then its @domain, else the lower-cased address is the owner', () => {
    const ownerOf = readOwnerMap(
      mapFile('# shared boxes\nInfo@Example.org  alice@example.org\n@lists.example.org  listmaster\n\n'),
    );
    expect(ownerOf('info@EXAMPLE.org')).toBe('alice@example.org');
    expect(ownerOf('anything@Lists.Example.org')).toBe('listmaster');
    expect(ownerOf('Bob@Example.org')).toBe('bob@example.org');
  });

  it('names the file and line of a bad entry, and refuses an unreadable file', () => {
    const bad = (text: string) => {
      try {
        readOwnerMap(mapFile(text));
      } catch (err) {
        return isPsfError(err, 'CONFIG') ? err.message : 'other error';
      }
      return 'accepted';
    };
    expect(bad('a@example.org\n')).toMatch(/line 1: expected/);
    expect(bad('ok@example.org x\na@example.org b c\n')).toMatch(/line 2/);
    expect(bad('a@example.org has\tspace\n')).toMatch(/line 1/);
    expect(() => readOwnerMap('/nonexistent/owners')).toThrow(/cannot read owner map/);
  });

  it('groups recipients by owner, unusable owner ids falling to the default classifier', () => {
    const groups = groupByOwner(['A@x.org', 'a@x.org', 'b@x.org', 'c d@x.org'], addressIsOwner);
    expect([...groups]).toEqual([
      ['a@x.org', ['A@x.org', 'a@x.org']],
      ['b@x.org', ['b@x.org']],
      ['', ['c d@x.org']],
    ]);
  });
});
