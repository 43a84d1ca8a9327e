// Property: for any seeded impairment schedule within bounds (loss ≤ 10%, reorder ≤ 20%,
// duplicate ≤ 10%, corrupt ≤ 5%, delay 0-50 ms, jitter 0-20 ms, MTU 576/1280/1500), any transfer
// size from 1 byte to 200 KB in either direction or both, the receiver gets exactly the bytes sent,
// both sockets close, both tcpcbs end CLOSED or TIME_WAIT within a bounded virtual time, and after
// TIME_WAIT no PCB, socket or mbuf is left. fast-check prints the seed and the failing parameters;
// SIM_SEED=n changes the base seed, TUNSTACK_SOAK=1 runs many more cases.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Stack } from '../../stack/stack.js';
import type { Socket } from '../../stack/socket/socket.js';
import { sosend } from '../../stack/socket/so-send.js';
import { soshutdown } from '../../stack/socket/so-ops.js';
import { SHUT_RD, SHUT_RDWR, SHUT_WR, SOL_SOCKET, SO_KEEPALIVE } from '../../stack/socket/constants.js';
import { ECONNRESET, EPIPE, ETIMEDOUT } from '../../stack/errno.js';
import { BulkEndpoint, PatternStream, connect, listen } from './apps.js';
import type { Acceptor } from './apps.js';
import {
  BASE_SEED, FAST_PROFILE, SOAK, TCP_KEEPALIVE, TCP_NODELAY, countersSummary, sa, setInt, setLinger, setTcpInt,
  stalledSender, tcpPcbCount, tcpWorld,
} from './harness.js';
import { describeRun, leakProblems, runTransfer, settle, transferProblems } from './scenarios.js';
import type { TransferSpec } from './scenarios.js';

const caseArb = fc.record({
  worldSeed: fc.integer({ min: 1, max: 0x7fffffff }),
  loss: fc.integer({ min: 0, max: 100 }).map((n) => n / 1000),
  reorder: fc.integer({ min: 0, max: 200 }).map((n) => n / 1000),
  duplicate: fc.integer({ min: 0, max: 100 }).map((n) => n / 1000),
  corrupt: fc.integer({ min: 0, max: 50 }).map((n) => n / 1000),
  delayMs: fc.integer({ min: 0, max: 50 }),
  jitterMs: fc.integer({ min: 0, max: 20 }),
  mtu: fc.constantFrom(576, 1280, 1500),
  v6: fc.boolean(),
  size: fc.oneof(fc.integer({ min: 1, max: 2048 }), fc.integer({ min: 1, max: 200 * 1024 })),
  direction: fc.constantFrom('a→b', 'b→a', 'both'),
});

type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function specOf(c: Case): TransferSpec {
  const family = c.v6 && c.mtu >= 1280 ? 6 : 4; // IPv6 needs 1280
  return {
    seed: c.worldSeed, family, mtu: c.mtu, profile: FAST_PROFILE,
    aToB: c.direction === 'b→a' ? 0 : c.size,
    bToA: c.direction === 'a→b' ? 0 : c.size,
    impairments: {
      loss: c.loss, reorder: c.reorder, duplicate: c.duplicate, corrupt: c.corrupt,
      delayMs: c.delayMs, jitterMs: c.jitterMs,
    },
    // Generous: at 10% loss + 5% corruption a segment may be lost several times in a row (RTO backoff).
    maxMs: 900_000,
  };
}

describe('transfer property', () => {
  it(`any bounded impairment schedule delivers the exact stream and closes cleanly (fast-check seed ${BASE_SEED + 400})`, () => {
    fc.assert(fc.property(caseArb, (c) => {
      const spec = specOf(c);
      const r = runTransfer(spec);
      const why = () => `case ${JSON.stringify(c)}\n${describeRun(r)}\n${countersSummary(r.world)}`;
      expect(transferProblems(r, spec), why()).toEqual([]);
      expect(settle(r), why()).toEqual([]);
      r.acceptor.close();
      r.world.sim.runUntil(() => tcpPcbCount(r.world.a.stack) === 0 && tcpPcbCount(r.world.b.stack) === 0, 600_000);
      expect(leakProblems(r.world), why()).toEqual([]);
    }), { seed: BASE_SEED + 400, numRuns: SOAK ? 1000 : 150, endOnFailure: !SOAK });
  }, SOAK ? 3_600_000 : 120_000);
});

// ---- random lifecycles ----

type Side = 'a' | 'b';
const actionArb = fc.record({
  side: fc.constantFrom<Side>('a', 'b'),
  op: fc.constantFrom(
    'send', 'send', 'send', 'wait', 'wait', 'shutdown', 'shutrd', 'shutrdwr', 'nodelay', 'keepalive', 'partition',
    'close', 'abort',
  ),
  bytes: fc.integer({ min: 1, max: 40_000 }),
  waitMs: fc.constantFrom(0, 1, 5, 20, 100, 1000),
});

const lifecycleArb = fc.record({
  worldSeed: fc.integer({ min: 1, max: 0x7fffffff }),
  loss: fc.integer({ min: 0, max: 100 }).map((n) => n / 1000),
  reorder: fc.integer({ min: 0, max: 200 }).map((n) => n / 1000),
  delayMs: fc.integer({ min: 0, max: 30 }),
  jitterMs: fc.integer({ min: 0, max: 10 }),
  v6: fc.boolean(),
  simultaneousOpen: fc.boolean(),
  actions: fc.array(actionArb, { minLength: 1, maxLength: 12 }),
});

describe('lifecycle property', () => {
  it(`random sends, shutdowns (WR/RD/RDWR), options, closes and aborts on both ends: every byte read is the sent stream's prefix, errors are resets only, nothing leaks (fast-check seed ${BASE_SEED + 401})`, () => {
    fc.assert(fc.property(lifecycleArb, (c) => {
      const family = c.v6 ? 6 : 4;
      const w = tcpWorld({
        seed: c.worldSeed, profile: FAST_PROFILE,
        impairments: { loss: c.loss, reorder: c.reorder, delayMs: c.delayMs, jitterMs: c.jitterMs },
      });
      const seedOf = (s: Side) => (c.worldSeed * 2 + (s === 'a' ? 1 : 2)) >>> 0;
      const make = (s: Side) => (st: Stack, so: Socket) =>
        new BulkEndpoint(st, so, { sendBytes: 0, expectSeed: seedOf(s === 'a' ? 'b' : 'a'), closeOnEof: false });
      let ends: Record<Side, BulkEndpoint | null>;
      let acceptor: Acceptor<BulkEndpoint> | null = null;
      if (c.simultaneousOpen) {
        ends = {
          a: connect(w.a.stack, { family, to: sa(w.b, family, 7002), bindPort: 7001 }, make('a')),
          b: connect(w.b.stack, { family, to: sa(w.a, family, 7001), bindPort: 7002 }, make('b')),
        };
      } else {
        acceptor = listen(w.b.stack, { family, port: 7000 }, make('b'));
        ends = { a: connect(w.a.stack, { family, to: sa(w.b, family, 7000) }, make('a')), b: null };
      }
      w.sim.runUntil(() => ends.a!.connectErrno !== null && (ends.b ?? acceptor!.apps[0]) !== undefined, 120_000);
      if (ends.b === null) ends.b = acceptor!.apps[0] ?? null;
      const sent = { a: 0, b: 0 };
      const buf = new Uint8Array(40_000);
      const box = { value: 0 };
      const log: string[] = [];
      for (const act of c.actions) {
        const e = ends[act.side];
        if (e === null || e.closed) continue;
        const now = w.sim.now;
        if (act.op === 'send') {
          // Only what the socket accepts is taken from the stream (the rest is regenerated later).
          const space = Math.min(act.bytes, Math.max(0, e.so.so_snd.sbspace()));
          const chunk = buf.subarray(0, space);
          const probe = new PatternStream(seedOf(act.side));
          if (sent[act.side] > 0) probe.fill(new Uint8Array(sent[act.side]));
          probe.fill(chunk);
          const r = sosend(e.so, null, [chunk], null, null, 0, now, box);
          if (r === 0) sent[act.side] += box.value;
          log.push(`${act.side} send ${space} → ${r}/${box.value}`);
        } else if (act.op === 'shutdown' || act.op === 'shutrd' || act.op === 'shutrdwr') {
          const how = act.op === 'shutdown' ? SHUT_WR : act.op === 'shutrd' ? SHUT_RD : SHUT_RDWR;
          log.push(`${act.side} shutdown(${how}) → ${soshutdown(e.so, how, now)}`);
        } else if (act.op === 'partition') {
          // Both directions dead for a while (10× waitMs), then the configured path again.
          const imp = { loss: c.loss, reorder: c.reorder, delayMs: c.delayMs, jitterMs: c.jitterMs };
          w.net.port('a').setImpairments({ loss: 1 });
          w.net.port('b').setImpairments({ loss: 1 });
          w.sim.runFor(act.waitMs * 10);
          w.net.port('a').setImpairments(imp);
          w.net.port('b').setImpairments(imp);
          log.push(`partition ${act.waitMs * 10} ms`);
        } else if (act.op === 'nodelay') {
          log.push(`${act.side} TCP_NODELAY → ${setTcpInt(e.so, TCP_NODELAY, 1)}`);
        } else if (act.op === 'keepalive') {
          log.push(`${act.side} keepalive → ${setInt(e.so, SOL_SOCKET, SO_KEEPALIVE, 1)}/${setTcpInt(e.so, TCP_KEEPALIVE, 1)}`);
        } else if (act.op === 'close') {
          e.kick(); // read what is there first, as an application would before close
          e.close();
          log.push(`${act.side} close`);
        } else if (act.op === 'abort') {
          setLinger(e.so, 1, 0);
          e.close();
          log.push(`${act.side} abort`);
        } else {
          w.sim.runFor(act.waitMs);
        }
      }
      // Let everything settle; no sender may be left with data and no timer to move it.
      w.sim.runFor(5_000);
      const stalls = (['a', 'b'] as const).flatMap((x) => {
        const e = ends[x];
        const d = e === null || e.closed ? null : stalledSender(e.so);
        return d === null ? [] : [`${x} ${d}`];
      });
      // Then close what is still open and let every timer run out.
      for (const s of ['a', 'b'] as const) ends[s]?.kick();
      for (const s of ['a', 'b'] as const) ends[s]?.close();
      acceptor?.close();
      w.sim.runUntil(() => tcpPcbCount(w.a.stack) === 0 && tcpPcbCount(w.b.stack) === 0, 3_600_000);
      const why = `case ${JSON.stringify({ ...c, actions: undefined })}\n${log.join('\n')}\n` +
        `a: ${ends.a ? `connect=${ends.a.connectErrno} received=${ends.a.received} errors=${ends.a.errors}` : '-'} ` +
        `b: ${ends.b ? `connect=${ends.b.connectErrno} received=${ends.b.received} errors=${ends.b.errors}` : '-'}\n${countersSummary(w)}`;
      for (const s of ['a', 'b'] as const) {
        const e = ends[s];
        if (e === null) continue;
        const peer: Side = s === 'a' ? 'b' : 'a';
        expect(e.mismatchAt, why).toBe(-1);
        expect(e.received, why).toBeLessThanOrEqual(sent[peer]);
        // A long partition may legitimately time a connection out (keepalive, retransmissions).
        for (const err of e.errors) expect([ECONNRESET, EPIPE, ETIMEDOUT], why).toContain(err);
      }
      expect(stalls, why).toEqual([]);
      expect(leakProblems(w), why).toEqual([]);
    }), { seed: BASE_SEED + 401, numRuns: SOAK ? 2000 : 150, endOnFailure: !SOAK });
  }, SOAK ? 3_600_000 : 120_000);
});
