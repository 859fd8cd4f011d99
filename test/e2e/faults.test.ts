// Faults under load (issue 8), CI-sized: a few hundred mails through a real Postfix, psf-gateway
// (a child process) and a private RabbitMQ node while each of the six faults happens in turn; then
// Postfix is flushed and the sink counted by Message-ID. bench/faults.ts runs the same at scale.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FAULTS,
  type FaultRig,
  REINJECT_POOL,
  runScenario,
  SCAN_MAXPROC,
  type ScenarioResult,
  startFaultRig,
} from '../../bench/fault-harness.js';

describe('faults under load (after-queue SMTP, onTimeout=tempfail)', () => {
  let rig: FaultRig;
  let r: ScenarioResult;

  beforeAll(async () => {
    rig = await startFaultRig({ timeoutMs: 1500, log: (l) => process.stderr.write(`${l}\n`) });
    r = await runScenario(rig, {
      mails: 300,
      rate: 10,
      maxRounds: 1,
      downMs: 1500,
      fullMails: 20,
      stormCycles: 50,
      afterMails: 20,
      drainTimeoutMs: 60_000,
    });
  }, 150_000);
  afterAll(() => rig?.[Symbol.asyncDispose]());

  it('Postfix accepted every mail the load sent (its public port never depended on psf)', () => {
    expect(r.load).toMatchObject({ accepted: 300, errors: 0 });
    expect(r.after).toMatchObject({ accepted: 20, errors: 0 });
  });

  it('loses nothing: every mail accepted by Postfix reached the sink once its queue drained', () => {
    expect(r.tally.expected).toBe(300 + 20 + 20);
    expect(r.tally.lost).toEqual([]);
    expect(r.tally.strangers).toBe(0);
  });

  it('every fault made the gateway answer 451 instead of 250, and mail flowed again after each', () => {
    expect(r.windows.map((w) => w.name)).toEqual(Object.values(FAULTS));
    for (const w of r.windows) expect(w.recoveredMs, w.name).toBeDefined();
    const replies = [...r.deferredBy.keys()].join('\n');
    expect(replies).toMatch(/classifiers unreachable \(broker\)/); // RabbitMQ down
    expect(replies).toMatch(/no verdict from the classifier in time/); // hang, classifier killed
    expect(replies).toMatch(/reinjection failed/); // reinjection refused
    expect(replies).toMatch(/classifier queue refused the request/); // reject-publish-dlx
    expect(r.gateway.starts).toBe(2); // killed once, restarted once: nothing else restarted it
  });

  it('duplicates only where a delivery was cut after its data, bounded by the mails in flight', () => {
    // Gateway killed between the reinjection's 250 and its own: Postfix retries what it logged as
    // "may be sent more than once", at most the scan transport's maxproc. Reinjection cut after
    // the end of data: at most one mail per pooled connection. Nothing else may duplicate.
    const by = Object.fromEntries(r.tally.duplicatesBy);
    expect(Object.keys(by).every((k) => k === FAULTS.gateway || k === FAULTS.reinject)).toBe(true);
    expect(r.maybeSentTwice).toBeLessThanOrEqual(SCAN_MAXPROC);
    expect(by[FAULTS.gateway] ?? 0).toBeLessThanOrEqual(r.maybeSentTwice);
    expect(by[FAULTS.reinject] ?? 0).toBeLessThanOrEqual(REINJECT_POOL);
    expect(r.tally.extraCopies).toBe(r.tally.duplicates.size); // never more than twice
  });

  it('reconnects by itself 50 times with flat memory, and still serves afterwards', () => {
    expect(r.storm.cycles).toBe(50);
    expect(r.storm.rssAfterMb - r.storm.rssBeforeMb).toBeLessThan(30);
    expect(r.after.accepted).toBe(20);
  });
});
