// Send/receive-path cost of a bulk transfer: 16 MB a→b between two stacks on the SimNetwork
// (tools/sim-world.ts), in real CPU time. Skipped unless TCP_PERF=1 (it is a measurement, not a
// check): `TCP_PERF=1 npx vitest run test/tcp/perf.test.ts`.

import { describe, expect, it } from 'vitest';
import { perfTransfer } from './perf-driver.js';

const MB = 1024 * 1024;
const PERF = process.env.TCP_PERF === '1';
const OFFLOAD = { tsoMaxBytes: 65536, txCsumOffload: true, rxCsumValid: true } as const;

describe.skipIf(!PERF)('bulk transfer cost (16 MB a→b)' + (PERF ? '' : ' (skipped: a measurement, run with TCP_PERF=1)'), () => {
  for (const [name, chunk, buf, caps] of [
    ['64 KB writes, default buffers', 65536, 0, undefined],
    ['1448-byte writes, 4 MB buffers', 1448, 4 * MB, undefined],
    ['1448-byte writes, 4 MB buffers, TSO', 1448, 4 * MB, OFFLOAD],
  ] as const) {
    it(name, () => {
      const runs: number[] = [];
      let r = perfTransfer({ total: 16 * MB, chunk, sndbuf: buf, rcvbuf: buf, caps });
      for (let i = 0; i < 3; i++) {
        r = perfTransfer({ total: 16 * MB, chunk, sndbuf: buf, rcvbuf: buf, caps });
        runs.push(r.cpuMs);
      }
      expect(r.received).toBe(16 * MB);
      const s = r.world.a.stack.tcp.stats, t = r.world.b.stack.tcp.stats;
      // eslint-disable-next-line no-console
      console.log(`PERF ${name}: cpu ms ${runs.map((x) => x.toFixed(0)).join('/')}, virtual ${r.virtualMs} ms, ` +
        `predack ${s.tcps_predack} preddat ${t.tcps_preddat} sndpack ${s.tcps_sndpack}`);
    });
  }
});
