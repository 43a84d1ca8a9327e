import { describe, expect, it } from 'vitest';
import { SeededRng } from '../../stack/random/rng.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { connHash, INP_TIMEWAIT, InPcbTable } from '../../stack/inpcb/in-pcb.js';
import type { InPcb } from '../../stack/inpcb/in-pcb.js';
import type { InPcbOwner, InPcbRouting } from '../../stack/inpcb/in-pcb.js';
import { selectEphemeralPort } from '../../stack/inpcb/ephemeral-port.js';
import { SO_REUSEADDR } from '../../stack/socket/constants.js';
import { EADDRINUSE, ENETUNREACH } from '../../stack/socket/errno.js';

const routing: InPcbRouting = {
  selectSource: (dst) => (dst.family === 4 ? IpAddr.of('10.0.0.2') : IpAddr.of('2001:db8::2')),
  isLocalAddress: (a) => ['10.0.0.2', '10.0.1.2', '2001:db8::2'].some((x) => IpAddr.of(x).equals(a)),
  isBroadcast: () => false,
};
const owner = (so_options = 0): InPcbOwner => ({ so_options });
const A = (s: string) => IpAddr.of(s);

/** Packet bytes [src(4|16)][dst(4|16)] as IP would leave them in the buffer. */
function pkt(src: string, dst: string): { buf: Uint8Array; srcOff: number; dstOff: number } {
  const s = A(src), d = A(dst);
  const buf = new Uint8Array(8 + s.bytes.length * 2);
  buf.set(s.bytes, 4);
  buf.set(d.bytes, 4 + s.bytes.length);
  return { buf, srcOff: 4, dstOff: 4 + s.bytes.length };
}

describe('InPcbTable lookups', () => {
  it('exact 4-tuple first, then a PCB bound to the destination, then the wildcard', () => {
    const t = new InPcbTable(17, new SeededRng(1), routing);
    const wild = t.alloc(owner(SO_REUSEADDR), 4);
    const spec = t.alloc(owner(SO_REUSEADDR), 4);
    const conn = t.alloc(owner(SO_REUSEADDR), 4);
    expect(t.bind(wild, null, 80)).toBe(0);
    expect(t.bind(spec, A('10.0.0.2'), 80)).toBe(0);
    expect(t.bind(conn, A('10.0.1.2'), 80)).toBe(0);
    expect(t.connect(conn, A('10.9.9.9'), 1234)).toBe(0);
    const look = (src: string, sport: number, dst: string) => {
      const p = pkt(src, dst);
      return t.lookupPacket(4, p.buf, p.srcOff, sport, p.dstOff, 80, true, 0);
    };
    expect(look('10.9.9.9', 1234, '10.0.1.2')).toBe(conn);
    expect(look('10.9.9.9', 1235, '10.0.0.2')).toBe(spec);
    expect(look('10.9.9.9', 1235, '10.0.1.2')).toBe(wild); // connected PCBs are not wildcard candidates
    const p = pkt('10.9.9.9', '10.0.1.2');
    expect(t.lookupPacket(4, p.buf, p.srcOff, 1235, p.dstOff, 80, false, 0)).toBeNull();
    expect(t.lookup(A('10.9.9.9'), 1234, A('10.0.1.2'), 80, false, 0)).toBe(conn);
    // Disconnect moves it out of the exact hash.
    t.disconnect(conn);
    expect(look('10.9.9.9', 1234, '10.0.1.2')).toBe(conn); // now as a PCB bound to 10.0.1.2
    t.detach(conn);
    expect(look('10.9.9.9', 1234, '10.0.1.2')).toBe(wild);
    expect(t.size).toBe(2);
  });

  it('connected PCBs whose 4-tuples share a hash key: each is found, and removal in any order keeps the others', () => {
    // Foreign addresses chosen so that four 4-tuples land on one key (the hash mixes the
    // address's last 32 bits with both ports; connHash confirms the collision).
    const K = 0x12345678;
    const ports: Array<[number, number]> = [[1024, 80], [1025, 443], [40000, 7], [65535, 9]];
    const tuples = ports.map(([lport, fport]) => ({
      lport, fport, fa: IpAddr.fromV4Number((K ^ Math.imul(fport, 0x9e3779b1) ^ Math.imul(lport, 0x85ebca6b)) >>> 0),
    }));
    const keys = tuples.map((x) => connHash(x.fa.bytes, 0, 4, x.fport, x.lport));
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toBeGreaterThanOrEqual(0);
    expect(keys[0]).toBeLessThan(2 ** 30); // a small integer: no boxed Map key
    const t = new InPcbTable(6, new SeededRng(1), routing);
    const pcbs: InPcb[] = tuples.map((x) => {
      const pcb = t.alloc(owner(), 4);
      expect(t.bind(pcb, A('10.0.0.2'), x.lport)).toBe(0);
      expect(t.connect(pcb, x.fa, x.fport)).toBe(0);
      return pcb;
    });
    const find = (i: number) => t.lookup(tuples[i]!.fa, tuples[i]!.fport, A('10.0.0.2'), tuples[i]!.lport, false, 0);
    tuples.forEach((_, i) => expect(find(i)).toBe(pcbs[i]));
    // Middle, first, last: the rest stay reachable; a removed one is gone.
    for (const i of [1, 0, 3]) {
      t.disconnect(pcbs[i]!);
      expect(find(i)).toBeNull();
      tuples.forEach((_, j) => { if (pcbs[j]!.isConnected) expect(find(j)).toBe(pcbs[j]); });
    }
    // Reconnecting puts one back behind the remaining one; detaching removes it.
    expect(t.connect(pcbs[0]!, tuples[0]!.fa, tuples[0]!.fport)).toBe(0);
    expect(find(0)).toBe(pcbs[0]);
    expect(find(2)).toBe(pcbs[2]);
    t.detach(pcbs[2]!);
    expect(find(2)).toBeNull();
    expect(find(0)).toBe(pcbs[0]);
    t.detach(pcbs[0]!);
    expect(find(0)).toBeNull();
  });

  it('IP_BOUND_IF PCBs only match packets from their interface; families never mix', () => {
    const t = new InPcbTable(17, new SeededRng(1), routing);
    const scoped = t.alloc(owner(), 4);
    scoped.ifscope = 2;
    t.bind(scoped, null, 53);
    const p = pkt('10.9.9.9', '10.0.0.2');
    expect(t.lookupPacket(4, p.buf, p.srcOff, 1, p.dstOff, 53, true, 2)).toBe(scoped);
    expect(t.lookupPacket(4, p.buf, p.srcOff, 1, p.dstOff, 53, true, 3)).toBeNull();
    const p6 = pkt('2001:db8::9', '2001:db8::2');
    expect(t.lookupPacket(6, p6.buf, p6.srcOff, 1, p6.dstOff, 53, true, 2)).toBeNull();
  });

  it('connect: ENETUNREACH without a source, EADDRINUSE for an existing 4-tuple', () => {
    const t = new InPcbTable(17, new SeededRng(1), { ...routing, selectSource: () => null });
    expect(t.connect(t.alloc(owner(), 4), A('10.9.9.9'), 53)).toBe(ENETUNREACH);
    const t2 = new InPcbTable(17, new SeededRng(1), routing);
    const a = t2.alloc(owner(SO_REUSEADDR), 4);
    const b = t2.alloc(owner(SO_REUSEADDR), 4);
    t2.bind(a, A('10.0.0.2'), 5000);
    t2.bind(b, A('10.0.0.2'), 5000); // no REUSEPORT: fails, so bind b elsewhere on the same port
    expect(b.lport).toBe(0);
    expect(t2.bind(b, null, 5000)).toBe(0);
    expect(t2.connect(a, A('10.9.9.9'), 53)).toBe(0);
    expect(t2.connect(b, A('10.9.9.9'), 53)).toBe(EADDRINUSE);
  });

  it('a TIME_WAIT PCB without socket blocks a plain wildcard bind of its port, not an SO_REUSEADDR one', () => {
    const t = new InPcbTable(6, new SeededRng(1), routing);
    const tw = t.alloc(owner(), 4);
    t.bind(tw, A('10.0.0.2'), 8080);
    t.connect(tw, A('10.9.9.9'), 40000);
    tw.flags |= INP_TIMEWAIT;
    tw.owner = null;
    expect(t.bind(t.alloc(owner(), 4), null, 8080)).toBe(EADDRINUSE);
    expect(t.bind(t.alloc(owner(SO_REUSEADDR), 4), A('10.0.0.2'), 8080)).toBe(0);
  });
});

describe('RFC 6056 Algorithm 1', () => {
  it('starts at a random port and probes upwards with wrap-around, bounded by the range size', () => {
    const used = new Set([65534, 65535]);
    let probes = 0;
    const avail = { portInUse: (p: number) => { probes++; return used.has(p); } };
    const rng = { nextU32: () => 0, nextFloat: () => 0, below: (n: number) => n - 2, fill: () => {} };
    expect(selectEphemeralPort(rng, 49152, 65535, avail)).toBe(49152); // 65534, 65535 taken, wraps
    expect(probes).toBe(3);
    probes = 0;
    const all = { portInUse: () => { probes++; return true; } };
    expect(selectEphemeralPort(new SeededRng(4), 49152, 65535, all)).toBe(0);
    expect(probes).toBe(16384);
  });

  it('is uniform-ish over the range for a seeded Rng', () => {
    const rng = new SeededRng(99);
    const free = { portInUse: () => false };
    let lowHalf = 0;
    for (let i = 0; i < 2000; i++) {
      const p = selectEphemeralPort(rng, 49152, 65535, free);
      expect(p).toBeGreaterThanOrEqual(49152);
      expect(p).toBeLessThanOrEqual(65535);
      if (p < 57344) lowHalf++;
    }
    expect(lowHalf).toBeGreaterThan(850);
    expect(lowHalf).toBeLessThan(1150);
  });
});
