import { describe, expect, it } from 'vitest';
import { runClusterScenario } from '../../bench/cluster-rig.js';

// Three private RabbitMQ nodes, quorum queues, two gateways and three classifiers; the node that
// leads psf.default and holds the gateways' connections is killed mid-load (bench/cluster.ts
// runs the same with more mails).
describe('scale-out on a RabbitMQ cluster', () => {
  it('loses no mail when a node dies under load, and the throughput comes back', async () => {
    // Paced: flat out, the mails left at the kill could all get their quick 451 before the new
    // leader took requests, and no recovery would be seen (it happened once under a busy CI).
    const r = await runClusterScenario({ count: 6000, sessions: 5, killAfterSeconds: 5, rate: 400 });
    console.log(JSON.stringify({ ...r, load: undefined }));
    expect(r.killed.gatewaysOn).toEqual([r.killed.node]);
    expect(r.killed.newLeader).not.toBe(r.killed.node);
    // Every mail was answered: 250 or a 4xx that Postfix retries; no broken session.
    expect(r.errors).toBe(0);
    expect(r.accepted + Object.values(r.refusedBy).reduce((a, b) => a + b, 0)).toBe(r.sent);
    expect(Object.keys(r.refusedBy).every((code) => code.startsWith('4'))).toBe(true);
    // Nothing lost: every mail answered 250 is at the sink, once.
    expect(r.settled).toBe(r.accepted);
    expect(r.missing).toEqual([]);
    expect(r.duplicates).toBe(0);
    expect(r.arrived).toBe(r.settled + r.arrivedUnsettled);
    // The gateways moved to surviving nodes, and the load went on at a comparable rate.
    expect(Object.keys(r.reconnects).length).toBeGreaterThan(0);
    expect(r.reconnects[r.killed.node]).toBeUndefined();
    // Seen: 1 s mostly, 10 s once (publishes nacked until the new leader took them).
    expect(r.recoverySeconds).toBeLessThan(20);
    expect(r.rates.after).toBeGreaterThan(r.rates.before / 2);
  }, 180_000);
});
