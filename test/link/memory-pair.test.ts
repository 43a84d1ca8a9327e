import { describe, expect, it } from 'vitest';
import { MemoryLinkPair } from '../../stack/link/index.js';
import { CSUM_DATA_VALID, CSUM_NEEDS, MbufPool } from '../../stack/mbuf/index.js';
import type { Mbuf } from '../../stack/mbuf/index.js';
import { Collector, hex, parse, pkt, tcpPacket, udpPacket } from './packets.js';

const A = '10.0.0.1', B = '10.0.0.2';

describe('MemoryLinkPair', () => {
  it('queues on transmit and delivers both ways, one batch per direction, on poll', () => {
    const pair = new MemoryLinkPair();
    const poolA = new MbufPool(), poolB = new MbufPool();
    const rxA = new Collector(new MbufPool()), rxB = new Collector(new MbufPool());
    pair.a.setReceiver(rxA);
    pair.b.setReceiver(rxB);
    const ab = [1, 2, 3].map((i) => udpPacket({ src: A, dst: B, id: i, payload: new Uint8Array(i * 100) }));
    const ba = [4, 5].map((i) => udpPacket({ src: B, dst: A, id: i, payload: new Uint8Array(i) }));
    pair.a.transmit(ab.map((b) => pkt(poolA, b)), 3, 10);
    pair.b.transmit(ba.map((b) => pkt(poolB, b)), 2, 11);
    // Nothing is delivered synchronously.
    expect(rxA.got.length + rxB.got.length).toBe(0);
    expect(pair.pollAt()).toBe(10);
    pair.poll(12);
    expect(rxB.batches).toEqual([3]);
    expect(rxA.batches).toEqual([2]);
    expect(rxB.got.map((r) => hex(r.bytes))).toEqual(ab.map(hex));
    expect(rxA.got.map((r) => hex(r.bytes))).toEqual(ba.map(hex));
    expect(rxB.got[0]!.t).toBe(12);
    expect(pair.pollAt()).toBeNull();
    // Sender mbufs freed, receiver copies freed by the collector: every pool back to zero.
    for (const p of [poolA, poolB, rxA.pool, rxB.pool]) {
      expect(p.stats.mbufsInUse).toBe(0);
      expect(p.stats.clusterBytesInUse).toBe(0);
    }
    expect(pair.a.stats.txPackets).toBe(3);
    expect(pair.b.stats.rxPackets).toBe(3);
    expect(pair.b.stats.rxBytes).toBe(ab.reduce((s, b) => s + b.length, 0));
  });

  it('drops and counts oversize packets at transmit', () => {
    const pair = new MemoryLinkPair({ caps: { mtu: 576 } });
    const pool = new MbufPool();
    const rx = new Collector();
    pair.b.setReceiver(rx);
    const small = udpPacket({ src: A, dst: B, payload: new Uint8Array(548) }); // exactly 576
    const big = udpPacket({ src: A, dst: B, payload: new Uint8Array(549) });
    pair.a.transmit([pkt(pool, small), pkt(pool, big)], 2, 0);
    expect(pool.stats.mbufsInUse).toBe(1); // the big one was freed at once
    pair.poll(0);
    expect(rx.got.length).toBe(1);
    expect(pair.a.stats.dropTooBig).toBe(1);
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('counts a drop when the receiver pool is exhausted, and when nobody receives', () => {
    const pair = new MemoryLinkPair();
    const pool = new MbufPool();
    const tiny = new MbufPool({ maxMbufs: 1, maxClusterBytes: 1 << 20, maxCached: 16 });
    const rx = new Collector(tiny);
    let hold: Mbuf | null = null;
    // A receiver that keeps the first packet, so the pool (1 mbuf) is exhausted for the second.
    pair.b.setReceiver({ pool: tiny, receiveBatch: (b, n, t) => { hold = b[0]!; rx.batches.push(n); void t; } });
    const p = udpPacket({ src: A, dst: B });
    pair.a.transmit([pkt(pool, p), pkt(pool, p)], 2, 0);
    pair.poll(0);
    expect(rx.batches).toEqual([1]);
    expect(pair.b.stats.dropNoBuffers).toBe(1);
    expect(hold).not.toBeNull();
    pair.b.setReceiver(null);
    pair.a.transmit([pkt(pool, p)], 1, 1);
    pair.poll(1);
    expect(pair.b.stats.dropNoReceiver).toBe(1);
    expect(pool.stats.mbufsInUse).toBe(0);
  });

  it('tail-drops beyond queueLimit', () => {
    const pair = new MemoryLinkPair({ queueLimit: 2 });
    const pool = new MbufPool();
    const rx = new Collector();
    pair.b.setReceiver(rx);
    const p = udpPacket({ src: A, dst: B });
    pair.a.transmit([pkt(pool, p), pkt(pool, p), pkt(pool, p)], 3, 0);
    pair.poll(0);
    expect(rx.got.length).toBe(2);
    expect(pair.a.stats.dropQueueFull).toBe(1);
  });

  it('keeps packets sent back from inside receiveBatch for the next poll (no re-entrancy)', () => {
    const pair = new MemoryLinkPair();
    const pool = new MbufPool();
    const rxA = new Collector();
    pair.a.setReceiver(rxA);
    const echo = udpPacket({ src: B, dst: A, payload: Uint8Array.of(9) });
    pair.b.setReceiver({
      pool,
      receiveBatch(batch, n, now) {
        for (let i = 0; i < n; i++) batch[i]!.pool.free(batch[i]!);
        pair.b.transmit([pkt(pool, echo)], 1, now);
        pair.poll(now); // ignored while delivering
      },
    });
    pair.a.transmit([pkt(pool, udpPacket({ src: A, dst: B }))], 1, 5);
    pair.poll(5);
    expect(rxA.got.length).toBe(0);
    expect(pair.pollAt()).toBe(5);
    pair.poll(6);
    expect(rxA.got.map((r) => hex(r.bytes))).toEqual([hex(echo)]);
  });

  it('fills checksums and marks CSUM_DATA_VALID when the caps offer checksum offload', () => {
    const pair = new MemoryLinkPair({ caps: { txCsumOffload: true, rxCsumValid: true } });
    const pool = new MbufPool();
    const rx = new Collector();
    pair.b.setReceiver(rx);
    const raw = tcpPacket({ src: A, dst: B, seq: 1, flags: 0x18, payload: new Uint8Array(33).fill(3), noChecksum: true });
    pair.a.transmit([pkt(pool, raw, { csumFlags: CSUM_NEEDS })], 1, 0);
    pair.poll(0);
    expect(parse(rx.got[0]!.bytes).l4ChecksumOk).toBe(true);
    expect(rx.got[0]!.csumFlags & CSUM_DATA_VALID).toBe(CSUM_DATA_VALID);
  });

  it('refuses CSUM_NEEDS on a link without checksum offload', () => {
    const pair = new MemoryLinkPair();
    const pool = new MbufPool();
    const rx = new Collector();
    pair.b.setReceiver(rx);
    const raw = udpPacket({ src: A, dst: B, noChecksum: true });
    pair.a.transmit([pkt(pool, raw, { csumFlags: CSUM_NEEDS })], 1, 0);
    pair.poll(0);
    expect(rx.got.length).toBe(0);
    expect(pair.a.stats.dropOffloadUnsupported).toBe(1);
  });
});
