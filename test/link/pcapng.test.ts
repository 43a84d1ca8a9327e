import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  EPB_DIR_INBOUND, EPB_DIR_OUTBOUND, LINKTYPE_RAW, MemoryByteSink, MemoryLinkPair, PcapngWriter, Simulation, withPcap,
} from '../../stack/link/index.js';
import { MbufPool } from '../../stack/mbuf/index.js';
import { Collector, hex, pkt, udpPacket } from './packets.js';

const hasTshark = spawnSync('tshark', ['--version'], { stdio: 'ignore' }).status === 0;

interface Block { type: number; len: number; body: DataView; off: number }

/** Splits a little-endian pcapng stream into blocks, checking both length fields and alignment. */
function blocks(b: Uint8Array): Block[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: Block[] = [];
  let off = 0;
  while (off < b.length) {
    const type = dv.getUint32(off, true);
    const len = dv.getUint32(off + 4, true);
    expect(len % 4).toBe(0);
    expect(off + len).toBeLessThanOrEqual(b.length);
    expect(dv.getUint32(off + len - 4, true)).toBe(len);
    out.push({ type, len, body: new DataView(b.buffer, b.byteOffset + off, len), off });
    off += len;
  }
  expect(off).toBe(b.length);
  return out;
}

/** Options of a block starting at `at` (inside the block), up to opt_endofopt. */
function options(v: DataView, at: number): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  while (at + 4 <= v.byteLength - 4) {
    const code = v.getUint16(at, true), len = v.getUint16(at + 2, true);
    if (code === 0) break;
    m.set(code, new Uint8Array(v.buffer, v.byteOffset + at + 4, len));
    at += 4 + ((len + 3) & ~3);
  }
  return m;
}

/** Two hosts over a memory pair, both tapped into one capture; sends IPv4 and IPv6 both ways. */
function capture() {
  const sim = new Simulation({ seed: 1 });
  const sink = new MemoryByteSink();
  const writer = new PcapngWriter(sink);
  const pair = sim.add(new MemoryLinkPair({ names: ['left', 'right'] }));
  const a = withPcap(pair.a, writer, sim.clock);
  const b = withPcap(pair.b, writer, sim.clock);
  const ca = new Collector(), cb = new Collector();
  a.setReceiver(ca);
  b.setReceiver(cb);
  const pool = new MbufPool();
  const p1 = udpPacket({ src: '192.0.2.1', dst: '192.0.2.2', payload: Uint8Array.of(1, 2, 3) }); // 31 bytes: padding
  const p2 = udpPacket({ src: '2001:db8::2', dst: '2001:db8::1', payload: new Uint8Array(100) });
  sim.runUntil(1_500);
  a.transmit([pkt(pool, p1)], 1, sim.now);
  sim.runUntil(2_000_250);
  b.transmit([pkt(pool, p2)], 1, sim.now);
  sim.runUntilIdle(10);
  return { sim, bytes: sink.bytes(), p1, p2, ca, cb };
}

describe('pcapng', () => {
  it('writes SHB, one IDB per tapped link and EPBs with microsecond wall timestamps and direction', () => {
    const { sim, bytes, p1, p2, ca, cb } = capture();
    expect(cb.got.length).toBe(1);
    expect(ca.got.length).toBe(1);
    const bl = blocks(bytes);
    expect(bl.map((x) => x.type)).toEqual([0x0a0d0d0a, 1, 1, 6, 6, 6, 6]);
    const shb = bl[0]!.body;
    expect(shb.getUint32(8, true)).toBe(0x1a2b3c4d);
    expect([shb.getUint16(12, true), shb.getUint16(14, true)]).toEqual([1, 0]);
    for (const idb of bl.slice(1, 3)) {
      expect(idb.body.getUint16(8, true)).toBe(LINKTYPE_RAW);
      const o = options(idb.body, 16);
      expect(Array.from(o.get(9)!)).toEqual([6]); // if_tsresol: microseconds
    }
    expect(new TextDecoder().decode(options(bl[1]!.body, 16).get(2)!)).toBe('left');
    expect(new TextDecoder().decode(options(bl[2]!.body, 16).get(2)!)).toBe('right');
    const epoch = sim.clock.wallMicros() - sim.clock.now();
    const want = [
      // left sends p1 at 1.5 ms; right receives it when the pair is polled at that time.
      { ifId: 0, t: 1_500, data: p1, dir: EPB_DIR_OUTBOUND },
      { ifId: 1, t: 1_500, data: p1, dir: EPB_DIR_INBOUND },
      { ifId: 1, t: 2_000_250, data: p2, dir: EPB_DIR_OUTBOUND },
      { ifId: 0, t: 2_000_250, data: p2, dir: EPB_DIR_INBOUND },
    ];
    bl.slice(3).forEach((epb, i) => {
      const v = epb.body;
      const w = want[i]!;
      expect(v.getUint32(8, true)).toBe(w.ifId);
      expect(v.getUint32(12, true) * 2 ** 32 + v.getUint32(16, true)).toBe(epoch + w.t);
      expect(v.getUint32(20, true)).toBe(w.data.length);
      expect(v.getUint32(24, true)).toBe(w.data.length);
      expect(hex(new Uint8Array(v.buffer, v.byteOffset + 28, w.data.length))).toBe(hex(w.data));
      const o = options(v, 28 + ((w.data.length + 3) & ~3));
      expect(new DataView(o.get(2)!.buffer, o.get(2)!.byteOffset, 4).getUint32(0, true)).toBe(w.dir);
    });
  });

  it.skipIf(!hasTshark)('is read by tshark, which shows the IP packets (skipped when tshark is not on PATH)', () => {
    const { bytes } = capture();
    const dir = mkdtempSync(join(tmpdir(), 'tunstack-pcapng-'));
    try {
      const f = join(dir, 'capture.pcapng');
      writeFileSync(f, bytes);
      const out = execFileSync('tshark', [
        '-r', f, '-T', 'fields', '-E', 'separator=,',
        '-e', 'frame.interface_name', '-e', 'ip.src', '-e', 'ip.dst', '-e', 'ipv6.src', '-e', 'ipv6.dst',
        '-e', 'udp.length', '-e', 'frame.time_epoch',
      ], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      const lines = out.trim().split('\n').map((l) => l.split(','));
      expect(lines.map((l) => l.slice(0, 6))).toEqual([
        ['left', '192.0.2.1', '192.0.2.2', '', '', '11'],
        ['right', '192.0.2.1', '192.0.2.2', '', '', '11'],
        ['right', '', '', '2001:db8::2', '2001:db8::1', '108'],
        ['left', '', '', '2001:db8::2', '2001:db8::1', '108'],
      ]);
      // VirtualClock's wall origin is 1.7e9 s; the first packet is 1.5 ms after it.
      expect(lines[0]![6]).toMatch(/^1700000000\.0015/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
