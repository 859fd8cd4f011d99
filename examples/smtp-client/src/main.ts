#!/usr/bin/env node
// Sends a mail file, or every .eml file of a folder, over SMTP: to try a psf gateway or a Postfix
// in front of it with real mails.
//   psf-smtp-client [--to rcpt]... [--from sender] [--server host:port] <file-or-folder>
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import nodemailer from 'nodemailer';

const { values, positionals } = parseArgs({
  options: {
    to: { type: 'string', multiple: true, default: ['postmaster@example.org'] },
    from: { type: 'string', default: 'tester@example.net' },
    server: { type: 'string', default: '127.0.0.1:25' },
  },
  allowPositionals: true,
});
const path = positionals[0];
if (!path) {
  console.error(
    'usage: psf-smtp-client [--to rcpt]... [--from sender] [--server host:port] <file-or-folder>',
  );
  process.exit(64);
}
const [host = '127.0.0.1', port = '25'] = values.server.split(':');
const files = (await stat(path)).isDirectory()
  ? (await readdir(path))
      .filter((f) => f.endsWith('.eml'))
      .sort()
      .map((f) => join(path, f))
  : [path];
const transport = nodemailer.createTransport({ host, port: Number(port), ignoreTLS: true, pool: true });
let failed = 0;
for (const file of files) {
  try {
    const info = await transport.sendMail({
      envelope: { from: values.from, to: values.to },
      raw: await readFile(file),
    });
    console.log(`${file}: ${info.response}`);
  } catch (err) {
    failed++;
    console.error(`${file}: ${(err as Error).message}`);
  }
}
transport.close();
process.exit(failed ? 1 : 0);
