// The socket-level pieces TCP will use, exercised with a fake connection-oriented protocol:
// solisten, sonewconn, soisconnected moving a child to the completed queue, accept, listener
// close aborting the queues, and stream sosend/soreceive semantics (EPIPE, ENOTCONN, WAITALL...).

import { describe, expect, it } from 'vitest';
import type { Mbuf } from '../../stack/mbuf/mbuf.js';
import { mFreem } from '../../stack/mbuf/pool.js';
import { mFromBytes, mToBytes } from '../../stack/mbuf/chain.js';
import type { Box, PrUsrreqs, Protosw } from '../../stack/socket/protosw.js';
import { PR_CONNREQUIRED, PR_WANTRCVD } from '../../stack/socket/protosw.js';
import type { Socket } from '../../stack/socket/socket.js';
import {
  socantrcvmore, socantsendmore, soisconnected, soisconnecting, soisdisconnected, soreadable,
  soreserve, sowriteable,
} from '../../stack/socket/socket.js';
import { soacceptdequeue, soaccept, solisten, sonewconn } from '../../stack/socket/so-listen.js';
import { soclose, soconnect, soshutdown } from '../../stack/socket/so-ops.js';
import { sosend, sosendIsNonblocking } from '../../stack/socket/so-send.js';
import { SoRecvMsg, soreceive, soreceiveIsNonblocking, soreceiveWantsMore } from '../../stack/socket/so-receive.js';
import type { SockOpt } from '../../stack/socket/sockopt.js';
import { Ev } from '../../stack/socket/socket-events.js';
import {
  AF_INET, MSG_DONTWAIT, MSG_EOR, MSG_NBIO, MSG_OOB, MSG_WAITALL, SHUT_WR, SOCK_STREAM, SO_ACCEPTCONN,
  SO_KEEPALIVE, SOF_NOSIGPIPE, SS_ISCONNECTED, SS_NBIO, SS_NOFDREF,
} from '../../stack/socket/constants.js';
import {
  ECONNABORTED, ECONNRESET, EINVAL, EISCONN, ENOTCONN, EOPNOTSUPP, EPIPE, EWOULDBLOCK,
} from '../../stack/socket/errno.js';
import { TestCtx, sa } from '../udp/helpers.js';
import { SocketLayer } from '../../stack/socket/socket-layer.js';

class FakePcb {
  aborted = false;
  rcvd = 0;
}

/** A minimal connection-oriented protocol: data sent lands in so_snd; the test plays the network. */
class FakeStream implements PrUsrreqs {
  readonly aborted: Socket[] = [];
  pru_attach(so: Socket): number {
    const e = soreserve(so, 1000, 1000);
    if (e !== 0) return e;
    so.so_pcb = new FakePcb();
    return 0;
  }
  pru_detach(so: Socket): number { so.so_pcb = null; return 0; }
  pru_bind(): number { return 0; }
  pru_connect(so: Socket): number { soisconnecting(so); return 0; }
  pru_disconnect(so: Socket): number { soisdisconnected(so); return 0; }
  pru_listen(): number { return 0; }
  pru_accept(_so: Socket, nam: Box<Uint8Array | null>): number { nam.value = sa('10.0.0.9:1234'); return 0; }
  pru_send(so: Socket, _flags: number, m: Mbuf, _addr: Uint8Array | null, control: Mbuf | null): number {
    mFreem(control);
    so.so_snd.sbappendstream(m);
    return 0;
  }
  pru_rcvd(so: Socket): number { (so.so_pcb as FakePcb).rcvd++; return 0; }
  pru_rcvoob(): number { return EINVAL; }
  pru_shutdown(so: Socket): number { socantsendmore(so); return 0; }
  pru_abort(so: Socket): number {
    this.aborted.push(so);
    soisdisconnected(so);
    so.so_pcb = null;
    return 0;
  }
  pru_sockaddr(_so: Socket, nam: Box<Uint8Array | null>): number { nam.value = sa('10.0.0.1:80'); return 0; }
  pru_peeraddr(_so: Socket, nam: Box<Uint8Array | null>): number { nam.value = sa('10.0.0.9:1234'); return 0; }
  pru_ctloutput(_so: Socket, _sopt: SockOpt): number { return EINVAL; }
  pru_control(): number { return EOPNOTSUPP; }
}

function setupStream(): { ctx: TestCtx; layer: SocketLayer; fake: FakeStream; create(): Socket } {
  const ctx = new TestCtx();
  const layer = new SocketLayer(ctx);
  const fake = new FakeStream();
  const pr: Protosw = { pr_type: SOCK_STREAM, pr_domain: AF_INET, pr_protocol: 253, pr_flags: PR_CONNREQUIRED | PR_WANTRCVD, pr_usrreqs: fake };
  layer.addProtocol(pr);
  return {
    ctx, layer, fake,
    create(): Socket {
      const r = layer.socreate(AF_INET, SOCK_STREAM, 0);
      if (!r.ok) throw new Error(String(r.error));
      return r.value;
    },
  };
}

describe('listen queues (for TCP)', () => {
  it('solisten maps backlog <= 0 and > 128 to 128 and sets SO_ACCEPTCONN', () => {
    const t = setupStream();
    for (const [given, want] of [[0, 128], [-1, 128], [129, 128], [5, 5], [128, 128]] as const) {
      const so = t.create();
      expect(solisten(so, given)).toBe(0);
      expect(so.so_qlimit).toBe(want);
      expect(so.so_options & SO_ACCEPTCONN).toBe(SO_ACCEPTCONN);
    }
    const c = t.create();
    soconnect(c, sa('10.0.0.9:80'), 0);
    soisconnected(c);
    expect(solisten(c, 5)).toBe(EINVAL);
  });

  it('sonewconn queues an incomplete child; soisconnected completes it and wakes only the listener', () => {
    const t = setupStream();
    const head = t.create();
    head.so_options |= SO_KEEPALIVE;
    head.so_flags |= SOF_NOSIGPIPE;
    head.so_state |= SS_NBIO;
    head.so_rcv.sb_timeo = 5_000_000;
    solisten(head, 2);
    const events: number[] = [];
    head.setListener({ onSocketEvent(_so, ev) { events.push(ev); } });
    const child = sonewconn(head, 0)!;
    expect(child).not.toBeNull();
    expect(head.so_incomp).toEqual([child]);
    expect(head.so_qlen).toBe(1);
    expect(head.so_incqlen).toBe(1);
    // Inherited: state (SS_NBIO) with SS_NOFDREF, options minus ACCEPTCONN, flags, hiwat; not timeouts.
    expect(child.so_state & SS_NBIO).toBe(SS_NBIO);
    expect(child.so_state & SS_NOFDREF).toBe(SS_NOFDREF);
    expect(child.so_options).toBe(SO_KEEPALIVE);
    expect(child.so_flags & SOF_NOSIGPIPE).toBe(SOF_NOSIGPIPE);
    expect(child.so_rcv.sb_hiwat).toBe(head.so_rcv.sb_hiwat);
    expect(child.so_rcv.sb_timeo).toBe(0);
    expect(child.listenerOrNull).toBeNull();
    expect(soreadable(head)).toBe(false);
    soisconnected(child);
    expect(head.so_incomp).toEqual([]);
    expect(head.so_comp).toEqual([child]);
    expect(head.so_qlen).toBe(1);
    expect(soreadable(head)).toBe(true);
    t.ctx.endOfEntry();
    expect(events).toEqual([Ev.In]);
    // The queue limit counts incomplete plus complete children.
    expect(sonewconn(head, 0)).not.toBeNull();
    expect(sonewconn(head, 0)).toBeNull();
    expect(t.layer.stats.listenOverflows).toBe(1);
  });

  it('accept dequeues FIFO; EWOULDBLOCK when empty; EINVAL when not listening; so_error and ECONNABORTED', () => {
    const t = setupStream();
    const head = t.create();
    const box: Box<Socket | null> = { value: null };
    expect(soacceptdequeue(head, true, box)).toBe(EINVAL);
    solisten(head, 10);
    expect(soacceptdequeue(head, true, box)).toBe(EWOULDBLOCK);
    expect(soacceptdequeue(head, false, box)).toBe(EWOULDBLOCK); // would sleep
    const a = sonewconn(head, SS_ISCONNECTED)!;
    const b = sonewconn(head, SS_ISCONNECTED)!;
    expect(head.so_qlen).toBe(2);
    expect(soacceptdequeue(head, true, box)).toBe(0);
    expect(box.value).toBe(a);
    expect(a.so_head).toBeNull();
    expect(a.so_state & SS_NOFDREF).toBe(0);
    const nam: Box<Uint8Array | null> = { value: null };
    expect(soaccept(a, nam)).toBe(0);
    expect(nam.value).toEqual(sa('10.0.0.9:1234'));
    // so_error wins over a queued child on the blocking path, is returned once and cleared.
    head.so_error = ECONNRESET;
    expect(soacceptdequeue(head, false, box)).toBe(ECONNRESET);
    expect(head.so_error).toBe(0);
    expect(soacceptdequeue(head, false, box)).toBe(0);
    expect(box.value).toBe(b);
    expect(head.so_qlen).toBe(0);
    // A listener whose read side is shut: a blocking accept gets ECONNABORTED.
    socantrcvmore(head);
    expect(soacceptdequeue(head, true, box)).toBe(EWOULDBLOCK);
    expect(soacceptdequeue(head, false, box)).toBe(ECONNABORTED);
  });

  it('closing a listener aborts every queued child, incomplete and complete', () => {
    const t = setupStream();
    const head = t.create();
    solisten(head, 10);
    const inc = sonewconn(head, 0)!;
    const comp = sonewconn(head, SS_ISCONNECTED)!;
    expect(t.layer.stats.active).toBe(3);
    soclose(head, 0);
    expect(t.fake.aborted).toEqual([inc, comp]);
    expect(head.so_qlen).toBe(0);
    expect(t.layer.stats.active).toBe(0);
    expect(t.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('soconnect: EOPNOTSUPP on a listener, EISCONN when already connecting on a connection-oriented protocol', () => {
    const t = setupStream();
    const l = t.create();
    solisten(l, 1);
    expect(soconnect(l, sa('10.0.0.9:80'), 0)).toBe(EOPNOTSUPP);
    const c = t.create();
    expect(soconnect(c, sa('10.0.0.9:80'), 0)).toBe(0);
    expect(soconnect(c, sa('10.0.0.9:80'), 0)).toBe(EISCONN);
  });
});

describe('stream send and receive semantics', () => {
  function connected(t: ReturnType<typeof setupStream>): Socket {
    const so = t.create();
    soconnect(so, sa('10.0.0.9:80'), 0);
    soisconnected(so);
    return so;
  }
  const sent = { value: 0 };

  it('send: ENOTCONN unconnected, EINVAL for MSG_EOR, partial pass then EWOULDBLOCK when full', () => {
    const t = setupStream();
    const un = t.create();
    expect(sosend(un, null, [new Uint8Array(10)], null, null, 0, 0, sent)).toBe(ENOTCONN);
    expect(sowriteable(un)).toBe(false);
    const so = connected(t);
    expect(sowriteable(so)).toBe(true);
    expect(sosend(so, null, [new Uint8Array(10)], null, null, MSG_EOR, 0, sent)).toBe(EINVAL);
    expect(sosend(so, null, [new Uint8Array(600)], null, null, 0, 0, sent)).toBe(0);
    expect(sent.value).toBe(600);
    // 400 bytes of space left, below the send lowat of 1000 (clamped from 2048): the next pass waits.
    expect(so.so_snd.sb_lowat).toBe(1000);
    expect(sosend(so, null, [new Uint8Array(600)], null, null, 0, 0, sent)).toBe(EWOULDBLOCK);
    so.so_snd.sb_lowat = 100;
    expect(sosend(so, null, [new Uint8Array(600)], null, null, 0, 0, sent)).toBe(0);
    expect(sent.value).toBe(400); // min(resid, space): a short count
    expect(so.so_snd.sb_cc).toBe(1000);
    expect(sosend(so, null, [new Uint8Array(1)], null, null, MSG_DONTWAIT, 0, sent)).toBe(EWOULDBLOCK);
    // MSG_DONTWAIT does not make a send nonblocking; MSG_NBIO and SS_NBIO do.
    expect(sosendIsNonblocking(so, MSG_DONTWAIT)).toBe(false);
    expect(sosendIsNonblocking(so, MSG_NBIO)).toBe(true);
    // An mbuf send that would wait is left to the caller (not freed) so it can retry.
    const m = mFromBytes(t.ctx.pool, new Uint8Array(10))!;
    expect(sosend(so, null, null, m, null, 0, 0, sent)).toBe(EWOULDBLOCK);
    expect(m.freed).toBe(false);
    mFreem(m);
    expect(sosend(so, null, [new Uint8Array(1)], null, null, MSG_OOB, 0, sent)).toBe(0); // OOB gets 1024 extra
  });

  it('send after a reset: EPIPE first (CANTSENDMORE before so_error), ECONNRESET stays for the receive', () => {
    const t = setupStream();
    const so = connected(t);
    so.so_error = ECONNRESET;
    soisdisconnected(so);
    expect(sosend(so, null, [new Uint8Array(1)], null, null, 0, 0, sent)).toBe(EPIPE);
    const msg = new SoRecvMsg();
    expect(soreceive(so, [new Uint8Array(10)], 0, msg, 0)).toBe(ECONNRESET);
    expect(soreceive(so, [new Uint8Array(10)], 0, msg, 0)).toBe(0); // then EOF
    expect(msg.len).toBe(0);
    const m = mFromBytes(t.ctx.pool, new Uint8Array(10))!;
    expect(sosend(so, null, null, m, null, 0, 0, sent)).toBe(EPIPE);
    expect(m.freed).toBe(true); // consumed on every path but EWOULDBLOCK
  });

  it('shutdown: ENOTCONN unconnected or repeated; SHUT_WR gives EPIPE on send', () => {
    const t = setupStream();
    const un = t.create();
    expect(soshutdown(un, SHUT_WR, 0)).toBe(ENOTCONN);
    const so = connected(t);
    expect(soshutdown(so, 3, 0)).toBe(EINVAL);
    expect(soshutdown(so, SHUT_WR, 0)).toBe(0);
    expect(soshutdown(so, SHUT_WR, 0)).toBe(ENOTCONN);
    expect(sosend(so, null, [new Uint8Array(1)], null, null, 0, 0, sent)).toBe(EPIPE);
  });

  it('receive: ENOTCONN unconnected, lowat and MSG_WAITALL wait decisions, pru_rcvd after reading', () => {
    const t = setupStream();
    const un = t.create();
    const msg = new SoRecvMsg();
    expect(soreceive(un, [new Uint8Array(10)], 0, msg, 0)).toBe(ENOTCONN);
    const so = connected(t);
    expect(soreceive(so, [new Uint8Array(10)], 0, msg, 0)).toBe(EWOULDBLOCK);
    expect(soreceiveIsNonblocking(so, MSG_DONTWAIT)).toBe(true);
    so.so_rcv.sbappendstream(mFromBytes(t.ctx.pool, Uint8Array.from([1, 2, 3, 4, 5]))!);
    // WAITALL for 10 bytes with 5 queued: a blocking receive would wait.
    expect(soreceive(so, [new Uint8Array(10)], MSG_WAITALL, msg, 0)).toBe(EWOULDBLOCK);
    // RCVLOWAT 8 likewise, unless MSG_DONTWAIT.
    so.so_rcv.sb_lowat = 8;
    expect(soreceive(so, [new Uint8Array(10)], 0, msg, 0)).toBe(EWOULDBLOCK);
    const buf = new Uint8Array(3);
    expect(soreceive(so, [buf], MSG_DONTWAIT, msg, 0)).toBe(0);
    expect(Array.from(buf)).toEqual([1, 2, 3]);
    expect((so.so_pcb as FakePcb).rcvd).toBe(1);
    expect(soreceiveWantsMore(so, MSG_WAITALL, msg, 10)).toBe(true);
    // Two iovecs, stream data spanning them.
    so.so_rcv.sb_lowat = 1;
    so.so_rcv.sbappendstream(mFromBytes(t.ctx.pool, Uint8Array.from([6, 7]))!);
    const v1 = new Uint8Array(2), v2 = new Uint8Array(5);
    expect(soreceive(so, [v1, v2], 0, msg, 0)).toBe(0);
    expect(msg.len).toBe(4);
    expect([...v1, ...v2.subarray(0, 2)]).toEqual([4, 5, 6, 7]);
    // CANTRCVMORE with data: data first, then EOF.
    so.so_rcv.sbappendstream(mFromBytes(t.ctx.pool, Uint8Array.from([8]))!);
    socantrcvmore(so);
    expect(soreceive(so, [new Uint8Array(10)], MSG_WAITALL, msg, 0)).toBe(0);
    expect(msg.len).toBe(1);
    expect(soreceive(so, [new Uint8Array(10)], 0, msg, 0)).toBe(0);
    expect(msg.len).toBe(0);
    expect(soreceiveWantsMore(so, MSG_WAITALL, msg, 10)).toBe(false);
    soclose(so, 0);
    soclose(un, 0);
    expect(t.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('stream data sent is in so_snd as the mbufs sosend built', () => {
    const t = setupStream();
    const so = connected(t);
    sosend(so, null, [Uint8Array.from([1, 2]), Uint8Array.from([3])], null, null, 0, 0, sent);
    expect(Array.from(mToBytes(so.so_snd.sb_mb))).toEqual([1, 2, 3]);
    soclose(so, 0);
    expect(t.ctx.pool.stats.mbufsInUse).toBe(0);
  });
});
