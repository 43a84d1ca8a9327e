// `npm run bench`: measures the hot paths that exist so far and writes the numbers as JSON to
// bench/results/. Nothing here is asserted by tests; timings vary with the machine.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { internetChecksum } from '../stack/wire/checksum.js';
import { Ipv4View } from '../stack/wire/ipv4.js';
import { UdpView } from '../stack/wire/udp.js';
import { emitIpv4 } from '../stack/wire/ipv4.js';
import { IpAddr } from '../stack/wire/ip-addr.js';
import { MbufPool } from '../stack/mbuf/pool.js';
import { mFreem } from '../stack/mbuf/pool.js';
import { buildSimWorld } from '../tools/sim-world.js';
import { runExchange } from '../tools/sim-scenario.js';

interface Result { name: string; value: number; unit: string; note: string }

/** Runs `fn(iterations)` until it has taken at least `minMs`, returns ns per iteration. */
function timeIt(fn: (n: number) => void, minMs = 300): number {
  let n = 1000;
  for (;;) {
    const t0 = performance.now();
    fn(n);
    const ms = performance.now() - t0;
    if (ms >= minMs) return (ms * 1e6) / n;
    n *= Math.min(100, Math.max(2, Math.ceil(minMs / Math.max(ms, 1))));
  }
}

function benchChecksum(): Result {
  const buf = new Uint8Array(1500).map((_, i) => (i * 7) & 0xff);
  let sink = 0;
  const ns = timeIt((n) => { for (let i = 0; i < n; i++) sink ^= internetChecksum(buf, 0, 1500); });
  void sink;
  return { name: 'checksum-1500B', value: (1500 * 8) / ns, unit: 'Gbit/s', note: 'internetChecksum over one 1500-byte buffer' };
}

function benchParse(): Result {
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
  return { name: 'ipv4-udp-parse', value: ns, unit: 'ns/packet', note: 'wrap + check + header checksum + UDP check, no allocation' };
}

function benchMbuf(): Result {
  const pool = new MbufPool();
  const ns = timeIt((n) => {
    for (let i = 0; i < n; i++) {
      const m = pool.getPacket(1500);
      if (m !== null) mFreem(m);
    }
  });
  return { name: 'mbuf-packet-alloc-free', value: ns, unit: 'ns/op', note: 'getPacket(1500) + freem from a warm pool' };
}

function benchSimExchange(): Result[] {
  const world = buildSimWorld({ seed: 1, mtu: 1500 });
  const count = 2000;
  const t0 = performance.now();
  const results = runExchange(world, { count, size: 512, intervalMs: 0.05, graceMs: 100 });
  const ms = performance.now() - t0;
  const messages = results.reduce((s, r) => s + r.answered, 0);
  return [
    { name: 'sim-echo-roundtrips', value: messages / (ms / 1000), unit: 'round trips/s', note: `ping + UDP echo, 512 B, both ways, IPv4+IPv6, two stacks in one process (${messages} in ${ms.toFixed(0)} ms)` },
  ];
}

const results: Result[] = [benchChecksum(), benchParse(), benchMbuf(), ...benchSimExchange()];
const report = { date: new Date().toISOString(), node: process.version, results };
const dir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench', 'results');
mkdirSync(dir, { recursive: true });
const file = join(dir, `bench-${report.date.replace(/[:.]/g, '-')}.json`);
writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
for (const r of results) process.stdout.write(`${r.name.padEnd(26)} ${r.value.toFixed(2).padStart(12)} ${r.unit}  (${r.note})\n`);
process.stdout.write(`written to ${file}\n`);
