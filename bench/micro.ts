// Micro-benchmarks of the hot paths below TCP: checksum, header parsing, mbuf allocation, and the
// in-process simulated network's ping + UDP echo exchange. Figures are not tied to offloads.

import { performance } from 'node:perf_hooks';
import { internetChecksum } from '../stack/wire/checksum.js';
import { emitIpv4, Ipv4View } from '../stack/wire/ipv4.js';
import { UdpView } from '../stack/wire/udp.js';
import { IpAddr } from '../stack/wire/ip-addr.js';
import { MbufPool, mFreem } from '../stack/mbuf/pool.js';
import { buildSimWorld } from '../tools/sim-world.js';
import { runExchange } from '../tools/sim-scenario.js';
import type { Figure } from './report.js';

/** Runs `fn(iterations)` until one call takes at least `minMs` (bounded: at most ~20 calls), returns ns per iteration. */
function timeIt(fn: (n: number) => void, minMs = 300): number {
  let n = 1000;
  for (let round = 0; ; round++) {
    const t0 = performance.now();
    fn(n);
    const ms = performance.now() - t0;
    if (ms >= minMs || round >= 20) return (ms * 1e6) / n;
    n *= Math.min(100, Math.max(2, Math.ceil(minMs / Math.max(ms, 1))));
  }
}

function benchChecksum(): Figure {
  const buf = new Uint8Array(1500).map((_, i) => (i * 7) & 0xff);
  let sink = 0;
  const ns = timeIt((n) => { for (let i = 0; i < n; i++) sink ^= internetChecksum(buf, 0, 1500); });
  void sink;
  return { key: 'micro.checksum1500', offload: null, value: (1500 * 8) / ns, unit: 'Gbit/s', note: 'internetChecksum over one 1500-byte buffer' };
}

function benchParse(): Figure {
  const pkt = new Uint8Array(28 + 512);
  emitIpv4({ src: IpAddr.of('198.18.0.1'), dst: IpAddr.of('198.18.0.2'), protocol: 17, ttl: 64, tos: 0, ident: 1,
    dontFrag: false, moreFrags: false, fragOffset: 0, payloadLen: 8 + 512 }, pkt, 0);
  pkt[20] = 0x30; pkt[21] = 0x39; pkt[22] = 0; pkt[23] = 7; pkt[24] = (520 >> 8); pkt[25] = 520 & 0xff;
  const ip = new Ipv4View(), udp = new UdpView();
  let sink = 0;
  const ns = timeIt((n) => {
    for (let i = 0; i < n; i++) {
      ip.wrap(pkt, 0, pkt.length);
      if (ip.check() === null && ip.verifyChecksum()) {
        udp.wrap(pkt, ip.payloadOffset, ip.payloadLen);
        if (udp.check() === null) sink += udp.dstPort;
      }
    }
  });
  void sink;
  return { key: 'micro.ipv4UdpParse', offload: null, value: ns, unit: 'ns/packet', note: 'wrap + check + header checksum + UDP check, no allocation' };
}

function benchMbuf(): Figure {
  const pool = new MbufPool();
  const ns = timeIt((n) => {
    for (let i = 0; i < n; i++) {
      const m = pool.getPacket(1500);
      if (m !== null) mFreem(m);
    }
  });
  return { key: 'micro.mbufAllocFree', offload: null, value: ns, unit: 'ns/op', note: 'getPacket(1500) + freem from a warm pool' };
}

function benchSimExchange(): Figure {
  const world = buildSimWorld({ seed: 1, mtu: 1500 });
  const count = 2000;
  const t0 = performance.now();
  const results = runExchange(world, { count, size: 512, intervalMs: 0.05, graceMs: 100 });
  const ms = performance.now() - t0;
  const messages = results.reduce((s, r) => s + r.answered, 0);
  return {
    key: 'micro.simEchoRoundTrips', offload: null, value: messages / (ms / 1000), unit: 'round trips/s',
    note: `ping + UDP echo, 512 B, both ways, IPv4+IPv6, two stacks in one process (${messages} in ${ms.toFixed(0)} ms)`,
  };
}

export function runMicro(): Figure[] {
  return [benchChecksum(), benchParse(), benchMbuf(), benchSimExchange()];
}

/** Labels of the micro figures for the printed list. */
export const MICRO_LABELS: Readonly<Record<string, string>> = {
  'micro.checksum1500': 'checksum, 1500 B',
  'micro.ipv4UdpParse': 'IPv4+UDP parse',
  'micro.mbufAllocFree': 'mbuf packet alloc+free',
  'micro.simEchoRoundTrips': 'sim ping+UDP echo exchange',
};
