// Property: random sequences of datagram arrivals (through udp.input, contiguous or split over two
// mbufs, zero-length included) and receives (copy or mbuf variant, random buffer sizes, MSG_PEEK,
// with or without SO_DONTTRUNC) preserve datagram boundaries, bytes and sender addresses, keep
// the socket buffer consistent at every step, and return every counter and mbuf to zero.
// fast-check prints the seed and the shrunk counterexample on failure.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { mToBytes } from '../../stack/mbuf/chain.js';
import { sobind, soclose } from '../../stack/socket/so-ops.js';
import { SoRecvMsg, soreceivembuf } from '../../stack/socket/so-receive.js';
import { sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, sooptInt } from '../../stack/socket/sockopt.js';
import { formatSockaddr } from '../../stack/socket/sockaddr.js';
import { MSG_PEEK, MSG_RCVMORE, MSG_TRUNC, SOL_SOCKET, SO_DONTTRUNC } from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/socket/errno.js';
import { fill, inject, recv, sa, setup, udpSocket } from './helpers.js';

type Op =
  | { kind: 'in'; size: number; sport: number; split: boolean; seed: number }
  | { kind: 'recv'; size: number; peek: boolean; mbuf: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('in' as const),
    size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 3000 })),
    sport: fc.integer({ min: 1, max: 3 }),
    split: fc.boolean(),
    seed: fc.integer({ min: 0, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('recv' as const),
    size: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 4000 })),
    peek: fc.boolean(),
    mbuf: fc.boolean(),
  }),
);

interface Rec { data: Uint8Array; sport: number; named: boolean }

describe('UDP receive path (property)', () => {
  it('input → sockbuf → soreceive preserves boundaries and bytes, and accounting returns to zero', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1 << 30 }), fc.boolean(), fc.array(opArb, { maxLength: 60 }), (seed, dontTrunc, ops) => {
        const h = setup(seed);
        const so = udpSocket(h);
        expect(sobind(so, sa('0.0.0.0:5000'))).toBe(0);
        if (dontTrunc) sosetopt(so, SockOpt.set(SOL_SOCKET, SO_DONTTRUNC, sooptInt(1)));
        const model: Rec[] = [];
        const expectedCc = () => model.reduce((n, r) => n + (r.named ? 16 : 0) + r.data.length, 0);

        const receive = (op: { size: number; peek: boolean; mbuf: boolean }) => {
          let e: number, data: Uint8Array, flags: number, nameLen: number, name: Uint8Array | null;
          if (op.mbuf && !op.peek && op.size > 0) {
            const msg = new SoRecvMsg();
            msg.name = new Uint8Array(28);
            e = soreceivembuf(so, op.size, 0, msg, 0);
            data = mToBytes(msg.data);
            expect(data.length).toBe(msg.len);
            let m = msg.data;
            while (m !== null) m = m.pool.free(m);
            flags = msg.flags; nameLen = msg.nameLen; name = msg.name;
          } else {
            const r = recv(so, op.size, op.peek ? MSG_PEEK : 0);
            e = r.e; data = r.data; flags = r.msg.flags; nameLen = r.msg.nameLen; name = r.msg.name;
          }
          const head = model[0];
          if (head === undefined) {
            // Nothing queued: a receive that would wait; with resid 0 XNU returns 0 first.
            expect(e).toBe(op.size === 0 ? 0 : EWOULDBLOCK);
            expect(data.length).toBe(0);
            return;
          }
          expect(e).toBe(0);
          const n = Math.min(op.size, head.data.length);
          expect(data).toEqual(head.data.subarray(0, n));
          if (head.named) {
            expect(nameLen).toBe(16);
            expect(formatSockaddr(name!)).toBe(`198.18.0.1:${head.sport}`);
          } else {
            expect(nameLen).toBe(0);
          }
          // The record still holds data mbufs after the copy loop: more bytes, or (resid 0) even an
          // empty payload mbuf, which XNU also reports as truncation.
          const more = n < head.data.length || op.size === 0;
          if (!more) expect(flags & (MSG_TRUNC | MSG_RCVMORE)).toBe(0);
          else if (dontTrunc) expect(flags & (MSG_TRUNC | MSG_RCVMORE)).toBe(MSG_RCVMORE);
          else expect(flags & (MSG_TRUNC | MSG_RCVMORE)).toBe(MSG_TRUNC);
          if (op.peek) return;
          if (more && dontTrunc) model[0] = { data: head.data.subarray(n), sport: head.sport, named: false };
          else model.shift();
        };

        for (const op of ops) {
          if (op.kind === 'in') {
            const before = h.udp.stats.udps_fullsock;
            const payload = fill(op.size, op.seed);
            inject(h, { src: '198.18.0.1', dst: '198.18.0.2', sport: op.sport, dport: 5000, payload, split: op.split });
            if (h.udp.stats.udps_fullsock === before) model.push({ data: payload, sport: op.sport, named: true });
          } else {
            receive(op);
          }
          expect(so.so_rcv.sbcheck()).toBeNull();
          expect(so.so_rcv.sb_cc).toBe(expectedCc());
          expect(so.so_rcv.recordCount()).toBe(model.length);
        }
        while (model.length > 0) receive({ size: 4000, peek: false, mbuf: false });
        expect(recv(so).e).toBe(EWOULDBLOCK);
        expect(so.so_rcv.sb_cc).toBe(0);
        expect(so.so_rcv.sb_ctl).toBe(0);
        expect(so.so_rcv.sb_mbcnt).toBe(0);
        expect(so.so_rcv.sb_mb).toBeNull();
        expect(so.so_rcv.sb_lastrecord).toBeNull();
        expect(so.so_rcv.sb_mbtail).toBeNull();
        soclose(so, 0);
        expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
        expect(h.ctx.pool.stats.clusterBytesInUse).toBe(0);
        expect(h.layer.stats.active).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
