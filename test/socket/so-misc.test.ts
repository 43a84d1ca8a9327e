import { describe, expect, it } from 'vitest';
import { mFromBytes } from '../../stack/mbuf/chain.js';
import { MT_CONTROL } from '../../stack/mbuf/constants.js';
import { sockaddrToMbuf } from '../../stack/socket/sockaddr.js';
import { sopoll, soreadable, sowriteable } from '../../stack/socket/socket.js';
import { Ev } from '../../stack/socket/socket-events.js';
import { sobind, soclose, soconnect, solingerstart } from '../../stack/socket/so-ops.js';
import { sosend } from '../../stack/socket/so-send.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { MSG_CTRUNC, MSG_OOB, SO_LINGER, SS_NBIO } from '../../stack/socket/constants.js';
import { EMSGSIZE, EOPNOTSUPP } from '../../stack/socket/errno.js';
import { bytes, fill, inject, sa, setup, udpSocket } from '../udp/helpers.js';

describe('readiness predicates', () => {
  it('a fresh UDP socket is writable, not readable; data or an error makes it readable', () => {
    const h = setup();
    const so = udpSocket(h);
    expect(sowriteable(so)).toBe(true);
    expect(soreadable(so)).toBe(false);
    expect(sopoll(so)).toBe(Ev.Out);
    sobind(so, sa('0.0.0.0:5000'));
    inject(h, { src: '198.18.0.1', dst: '198.18.0.2', sport: 1, dport: 5000, payload: bytes() });
    expect(soreadable(so)).toBe(true); // 16 address bytes >= lowat 1, even for an empty datagram
    const other = udpSocket(h);
    other.so_error = 61;
    expect(sopoll(other)).toBe(Ev.In | Ev.Out | Ev.Err);
  });
});

describe('send/receive odds and ends', () => {
  it('MSG_OOB is EOPNOTSUPP on a datagram socket, both ways; control longer than SO_SNDBUF is EMSGSIZE', () => {
    const h = setup();
    const so = udpSocket(h);
    const sent = { value: 0 };
    expect(sosend(so, sa('198.18.0.1:53'), [bytes(1)], null, null, MSG_OOB, 0, sent)).toBe(EOPNOTSUPP);
    expect(soreceive(so, [new Uint8Array(4)], MSG_OOB, new SoRecvMsg(), 0)).toBe(EOPNOTSUPP);
    const ctl = mFromBytes(h.ctx.pool, new Uint8Array(10000))!;
    ctl.type = MT_CONTROL;
    expect(sosend(so, sa('198.18.0.1:53'), [bytes(1)], null, ctl, 0, 0, sent)).toBe(EMSGSIZE);
    expect(ctl.freed).toBe(true);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('control mbufs of a record are copied back to back; truncation sets MSG_CTRUNC', () => {
    const h = setup();
    const so = udpSocket(h);
    const pool = h.ctx.pool;
    const c1 = mFromBytes(pool, fill(12, 1))!;
    c1.type = MT_CONTROL;
    c1.clearPkthdr();
    const c2 = mFromBytes(pool, fill(12, 2))!;
    c2.type = MT_CONTROL;
    c2.clearPkthdr();
    c1.next = c2;
    const name = sockaddrToMbuf(pool, { addr: IpAddr.of('10.0.0.1'), port: 9 })!;
    expect(so.so_rcv.sbappendaddr(name, mFromBytes(pool, fill(5))!, c1)).toBe(true);
    expect(so.so_rcv.sb_ctl).toBe(16 + 24);
    const msg = new SoRecvMsg();
    msg.control = new Uint8Array(20);
    const buf = new Uint8Array(5);
    expect(soreceive(so, [buf], 0, msg, 0)).toBe(0);
    expect(buf).toEqual(fill(5));
    expect(msg.controlLen).toBe(20);
    expect(msg.flags & MSG_CTRUNC).toBe(MSG_CTRUNC);
    expect(msg.control.subarray(0, 12)).toEqual(fill(12, 1));
    expect(msg.control.subarray(12, 20)).toEqual(fill(12, 2).subarray(0, 8));
    expect(so.so_rcv.sb_cc).toBe(0);
    expect(pool.stats.mbufsInUse).toBe(0);
  });
});

describe('close and linger', () => {
  it('solingerstart: 0 without SO_LINGER or when not connected; so_linger ticks × 10 ms otherwise', () => {
    const h = setup();
    const so = udpSocket(h);
    expect(solingerstart(so, 0)).toBe(0);
    so.so_options |= SO_LINGER;
    so.so_linger = 150;
    expect(solingerstart(so, 0)).toBe(0); // not connected
    // UDP's disconnect completes at once, so there is nothing left to wait for.
    soconnect(so, sa('198.18.0.1:53'), 0);
    expect(solingerstart(so, 0)).toBe(0);
    soclose(so, 0);
    expect(soclose(so, 0)).toBe(0); // a second close is a no-op
    expect(h.layer.stats.active).toBe(0);
  });

  it('a connected socket that stays connected while disconnecting lingers (a TCP-like protocol)', () => {
    const h = setup();
    const so = udpSocket(h);
    soconnect(so, sa('198.18.0.1:53'), 0);
    so.so_options |= SO_LINGER;
    so.so_linger = 150;
    // Pretend the protocol's disconnect is still in progress.
    const usr = so.so_proto.pr_usrreqs;
    const orig = usr.pru_disconnect;
    usr.pru_disconnect = (s) => { s.so_state |= 0x8; return 0; };
    try {
      expect(solingerstart(so, 0)).toBe(1_500_000);
      so.so_state |= SS_NBIO; // nonblocking and already disconnecting: no wait
      expect(solingerstart(so, 0)).toBe(0);
    } finally {
      usr.pru_disconnect = orig;
    }
    soclose(so, 0);
    expect(h.udp.pcbs.size).toBe(0);
  });
});
