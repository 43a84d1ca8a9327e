import { describe, expect, it } from 'vitest';
import { OFFLOAD_LINK_CAPS, SimNetwork, Simulation } from '../../stack/link/index.js';
import {
  CSUM_DATA_VALID, CSUM_NEEDS, GSO_TCPV4, GSO_TCPV6, GSO_UDP, MbufPool, mFromBytes, mFixupPktLen,
} from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { Collector, parse, pattern, pkt, tcpPacket, testSeed, udpPacket } from './packets.js';

const SEED = testSeed(7);
const TS_OPTS = [1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]; // NOP NOP Timestamps: a 32-byte TCP header
const FIN = 0x01, PSH = 0x08, ACK = 0x10, CWR = 0x80;

function setup(senderCaps = OFFLOAD_LINK_CAPS, receiverCaps = OFFLOAD_LINK_CAPS) {
  const net = new SimNetwork({ seed: SEED });
  const tx = net.attach('tx', [IpAddr.of('10.1.0.1'), IpAddr.of('2001:db8::1')], {}, senderCaps);
  const rxl = net.attach('rx', [IpAddr.of('10.1.0.2'), IpAddr.of('2001:db8::2')], {}, receiverCaps);
  const c = new Collector();
  rxl.setReceiver(c);
  const sim = new Simulation({ seed: SEED });
  sim.add(net);
  return { net, tx, rxl, c, sim, pool: new MbufPool() };
}

/** A chain: the first `split` bytes in one mbuf, the rest in another (headers may straddle). */
function chain(pool: MbufPool, bytes: Uint8Array, split: number): Mbuf {
  const head = mFromBytes(pool, bytes.subarray(0, split), 0)!;
  const tail = mFromBytes(pool, bytes.subarray(split), 0)!;
  tail.clearPkthdr();
  head.next = tail;
  mFixupPktLen(head);
  return head;
}

function checkSegments(got: { bytes: Uint8Array; csumFlags: number }[], opts: {
  family: 4 | 6; mss: number; seq0: number; id0: number; payload: Uint8Array; hdrLen: number;
}) {
  const n = Math.ceil(opts.payload.length / opts.mss);
  expect(got.length).toBe(n);
  const joined: number[] = [];
  got.forEach((r, i) => {
    const p = parse(r.bytes);
    expect(p.family).toBe(opts.family);
    expect(p.totalLen).toBe(r.bytes.length);
    expect(r.bytes.length).toBeLessThanOrEqual(1500);
    expect(r.bytes.length).toBe(opts.hdrLen + Math.min(opts.mss, opts.payload.length - i * opts.mss));
    if (opts.family === 4) expect(p.id).toBe((opts.id0 + i) & 0xffff);
    expect(p.ipChecksumOk).toBe(true);
    expect(p.l4ChecksumOk).toBe(true);
    expect(p.seq).toBe((opts.seq0 + i * opts.mss) >>> 0);
    expect(p.flags & CWR).toBe(i === 0 ? CWR : 0);
    expect(p.flags & (FIN | PSH)).toBe(i === n - 1 ? FIN | PSH : 0);
    expect(p.flags & ACK).toBe(ACK);
    expect(r.csumFlags & CSUM_DATA_VALID).toBe(CSUM_DATA_VALID);
    // TCP options travel in every segment.
    expect(Array.from(r.bytes.subarray(opts.hdrLen - 12, opts.hdrLen))).toEqual(TS_OPTS);
    joined.push(...p.payload);
  });
  expect(Uint8Array.from(joined)).toEqual(opts.payload);
}

describe(`TSO emulation (seed ${SEED})`, () => {
  it('splits a 64 KB IPv4 super-packet into MSS segments with correct headers and checksums', () => {
    const s = setup();
    const payload = pattern(65000, 3);
    const seq0 = 0xfffff000; // wraps mid-burst
    const bytes = tcpPacket({
      src: '10.1.0.1', dst: '10.1.0.2', seq: seq0, ack: 77, flags: CWR | PSH | ACK | FIN,
      payload, id: 0xfff0, options: TS_OPTS, noChecksum: true,
    });
    s.tx.transmit([pkt(s.pool, bytes, { gsoType: GSO_TCPV4, gsoSize: 1448, csumFlags: CSUM_NEEDS })], 1, 0);
    s.sim.runUntilIdle(100);
    checkSegments(s.c.got, { family: 4, mss: 1448, seq0, id0: 0xfff0, payload, hdrLen: 52 });
    expect(s.c.batches).toEqual([45]);
    expect(s.tx.stats.txPackets).toBe(1);
    expect(s.rxl.stats.rxPackets).toBe(45);
    expect(s.pool.stats.mbufsInUse).toBe(0);
    expect(s.net.pool.stats.mbufsInUse).toBe(0);
  });

  it('splits an IPv6 super-packet held in a two-mbuf chain', () => {
    const s = setup();
    const payload = pattern(65000, 5);
    const bytes = tcpPacket({
      src: '2001:db8::1', dst: '2001:db8::2', seq: 1000, ack: 1, flags: CWR | PSH | ACK | FIN,
      payload, options: TS_OPTS, noChecksum: true,
    });
    s.tx.transmit([Object.assign(chain(s.pool, bytes, 50), { gsoType: GSO_TCPV6, gsoSize: 1428 })], 1, 0);
    s.sim.runUntilIdle(100);
    checkSegments(s.c.got, { family: 6, mss: 1428, seq0: 1000, id0: 0, payload, hdrLen: 72 });
  });

  it('refuses GSO the port does not offer, UDP GSO, and segments above the MTU', () => {
    const plain = { mtu: 1500, tsoMaxBytes: 0, txCsumOffload: false, rxCsumValid: false };
    const s = setup(plain);
    const big = tcpPacket({ src: '10.1.0.1', dst: '10.1.0.2', seq: 1, flags: ACK, payload: pattern(4000) });
    s.tx.transmit([pkt(s.pool, big, { gsoType: GSO_TCPV4, gsoSize: 1000 })], 1, 0);
    expect(s.tx.stats.dropOffloadUnsupported).toBe(1);
    const t = setup();
    t.tx.transmit([pkt(t.pool, big, { gsoType: GSO_UDP, gsoSize: 1000 })], 1, 0);
    expect(t.tx.stats.dropOffloadUnsupported).toBe(1);
    t.tx.transmit([pkt(t.pool, big, { gsoType: GSO_TCPV4, gsoSize: 1600 })], 1, 0);
    expect(t.tx.stats.dropTooBig).toBe(1);
    t.tx.transmit([pkt(t.pool, big, { gsoType: GSO_TCPV6, gsoSize: 1000 })], 1, 0); // v4 bytes, v6 type
    expect(t.tx.stats.dropMalformed).toBe(1);
    t.sim.runUntilIdle(100);
    expect(t.c.got.length).toBe(0);
    expect(t.pool.stats.mbufsInUse).toBe(0);
  });

  it('fills CSUM_NEEDS checksums for TCP and UDP over IPv4 and IPv6', () => {
    const s = setup();
    const pkts = [
      tcpPacket({ src: '10.1.0.1', dst: '10.1.0.2', seq: 5, flags: ACK, payload: pattern(101), noChecksum: true }),
      udpPacket({ src: '10.1.0.1', dst: '10.1.0.2', payload: pattern(33), noChecksum: true }),
      tcpPacket({ src: '2001:db8::1', dst: '2001:db8::2', seq: 5, flags: ACK, payload: pattern(7), noChecksum: true }),
      udpPacket({ src: '2001:db8::1', dst: '2001:db8::2', payload: pattern(1000), noChecksum: true }),
    ];
    for (const b of pkts) s.tx.transmit([pkt(s.pool, b, { csumFlags: CSUM_NEEDS })], 1, 0);
    s.sim.runUntilIdle(100);
    expect(s.c.got.length).toBe(4);
    for (const r of s.c.got) {
      expect(parse(r.bytes).l4ChecksumOk).toBe(true);
      expect(r.csumFlags & CSUM_DATA_VALID).toBe(CSUM_DATA_VALID);
    }
  });

  it('marks CSUM_DATA_VALID only on packets whose transport checksum verifies', () => {
    const s = setup(OFFLOAD_LINK_CAPS, OFFLOAD_LINK_CAPS);
    s.rxl.setImpairments({ corrupt: 1 });
    for (let i = 0; i < 200; i++) {
      s.tx.transmit([pkt(s.pool, udpPacket({ src: '10.1.0.1', dst: '10.1.0.2', sport: i, payload: pattern(200, i) }))], 1, 0);
    }
    // A packet with a wrong checksum that is not corrupted on the way is not marked either.
    const bad = udpPacket({ src: '10.1.0.1', dst: '10.1.0.2', payload: pattern(20) });
    bad[bad.length - 1]! ^= 0xff;
    s.sim.runUntilIdle(100);
    s.rxl.setImpairments({});
    s.tx.transmit([pkt(s.pool, bad)], 1, s.sim.now);
    s.sim.runUntilIdle(100);
    const got = s.c.got;
    expect(got.length).toBe(201);
    const marked = got.filter((r) => r.csumFlags & CSUM_DATA_VALID);
    for (const r of marked) expect(parse(r.bytes).l4ChecksumOk).toBe(true);
    // Only flips in IP header fields outside the pseudo-header (TTL, ID, ...: 12 of 228 bytes) keep the UDP checksum valid.
    expect(marked.length).toBeLessThan(60);
    expect(got[200]!.csumFlags & CSUM_DATA_VALID).toBe(0);
  });
});
