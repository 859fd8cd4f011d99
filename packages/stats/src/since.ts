import { PsfError } from '@psf/protocol';

/** `24h`, `7d`, `30m` ago, or an ISO date: epoch ms. */
export function parseSince(text: string, now = Date.now()): number {
  const rel = /^(\d+)([smhd])$/.exec(text);
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(rel[1]) * unit;
  }
  const at = Date.parse(text);
  if (Number.isNaN(at))
    throw new PsfError('CONFIG', `--since: expected e.g. 24h, 7d or an ISO date, got ${text}`);
  return at;
}
