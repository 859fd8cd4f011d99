#!/usr/bin/env node
import { BrokerConnection, Quarantine } from '@psf/broker';
import { isPsfError } from '@psf/protocol';
import { Command } from 'commander';
import { loadConfig } from './config.js';
import { Reinjector } from './reinjector.js';
import { releaseQuarantined } from './release.js';

const program = new Command()
  .name('psf-quarantine')
  .description("List, release or delete an owner's quarantined mail (same configuration as psf-gateway).")
  .option('-c, --config <file>', 'JSON configuration file')
  .showHelpAfterError();

/** Runs `work` with a connected quarantine; exits 0, 1 (no such mail), 75 (try later) or 78. */
function withQuarantine(work: (q: Quarantine, reinjector: () => Reinjector) => Promise<boolean>) {
  return async () => {
    let code = 0;
    let config: ReturnType<typeof loadConfig>;
    try {
      config = loadConfig(program.opts<{ config?: string }>().config, process.env);
    } catch (err) {
      console.error(`psf-quarantine: ${(err as Error).message}`);
      process.exit(78);
    }
    const connection = await BrokerConnection.open({ url: config.amqpUrl, name: 'psf-quarantine' });
    let reinjector: Reinjector | undefined;
    try {
      await connection.waitForConnect(10_000);
      const quarantine = new Quarantine({
        connection,
        retentionMs: config.quarantineRetentionDays * 86_400_000,
      });
      const make = () => {
        reinjector ??= new Reinjector({
          host: config.reinject.host,
          port: config.reinject.port,
          poolSize: 1,
        });
        return reinjector;
      };
      if (!(await work(quarantine, make))) code = 1;
    } catch (err) {
      console.error(`psf-quarantine: ${(err as Error).message}`);
      code = isPsfError(err) && !err.temporary ? 69 : 75;
    } finally {
      await reinjector?.close();
      await connection.close();
    }
    process.exit(code);
  };
}

program
  .command('list <owner>')
  .description(
    'one line per quarantined mail, oldest first: id, date, sender, recipients, score, reasons, size',
  )
  .action((owner: string) =>
    withQuarantine(async (q) => {
      for (const e of await q.list(owner)) {
        const score = e.verdict.score?.toFixed(1) ?? '-';
        const reasons = e.verdict.reasons?.join(',') || '-';
        const when = new Date(e.quarantinedAt).toISOString();
        const fields = [e.id, when, `<${e.mailFrom}>`, e.rcpt.join(','), score, reasons, String(e.size)];
        // Sender and reasons come from outside: no tab to shift the columns, no terminal escapes.
        console.log(fields.map((f) => f.replace(/[\x00-\x1f\x7f]/g, '?')).join('\t'));
      }
      return true;
    })(),
  );
program
  .command('release <owner> <id>')
  .description("deliver the mail to the owner's original recipients and remove it from the quarantine")
  .action((owner: string, id: string) =>
    withQuarantine(async (q, reinjector) => {
      const done = await releaseQuarantined(q, reinjector(), owner, id);
      console.error(done ? `psf-quarantine: released ${id}` : `psf-quarantine: no mail ${id} for ${owner}`);
      return done;
    })(),
  );
program
  .command('delete <owner> <id>')
  .description('remove the mail from the quarantine')
  .action((owner: string, id: string) =>
    withQuarantine(async (q) => {
      const done = await q.delete(owner, id);
      console.error(done ? `psf-quarantine: deleted ${id}` : `psf-quarantine: no mail ${id} for ${owner}`);
      return done;
    })(),
  );
await program.parseAsync();
