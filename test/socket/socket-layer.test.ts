import { describe, expect, it } from 'vitest';
import type { Socket } from '../../stack/socket/socket.js';
import { Ev, UPCALL_READ } from '../../stack/socket/socket-events.js';
import type { SocketListener } from '../../stack/socket/socket-events.js';
import { sobind, soshutdown, soclose, soconnect as soconnect0 } from '../../stack/socket/so-ops.js';
import { soseterror } from '../../stack/socket/socket.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, IPPROTO_UDP, SHUT_RD, SOCK_DGRAM, SOCK_STREAM,
  SO_FILT_HINT_CONNECTED, SS_CANTRCVMORE,
} from '../../stack/socket/constants.js';
import { EAFNOSUPPORT, EPROTONOSUPPORT, EPROTOTYPE } from '../../stack/socket/errno.js';
import { bytes, inject, recv, sa, setup, udpSocket } from '../udp/helpers.js';

class Recorder implements SocketListener {
  readonly calls: { so: Socket; events: number; hints: number }[] = [];
  onSocketEvent(so: Socket, events: number, hints: number): void {
    this.calls.push({ so, events, hints });
  }
}

const FROM = { src: '198.18.0.1', dst: '198.18.0.2', sport: 4000, dport: 5000 };

/** Binds to 198.18.0.2:5000 (with SO_REUSEPORT so several sockets may) and connects to `peer`. */
function soconnect(so: Socket, peer: Uint8Array, now: number): number {
  so.so_options |= 0x200;
  const e = sobind(so, sa('198.18.0.2:5000'));
  if (e !== 0) return e;
  return soconnect0(so, peer, now);
}

describe('socreate and the protocol switch', () => {
  it('reports EAFNOSUPPORT, EPROTOTYPE and EPROTONOSUPPORT as socreate_internal does', () => {
    const h = setup();
    expect(h.layer.socreate(99, SOCK_DGRAM, 0)).toEqual({ ok: false, error: EAFNOSUPPORT });
    expect(h.layer.socreate(AF_INET, SOCK_STREAM, IPPROTO_UDP)).toEqual({ ok: false, error: EPROTOTYPE });
    expect(h.layer.socreate(AF_INET, SOCK_DGRAM, 99)).toEqual({ ok: false, error: EPROTONOSUPPORT });
    // No TCP registered yet: a stream socket has no protocol.
    expect(h.layer.socreate(AF_INET, SOCK_STREAM, 0)).toEqual({ ok: false, error: EPROTONOSUPPORT });
    expect(h.layer.socreate(AF_INET, SOCK_STREAM, IPPROTO_TCP)).toEqual({ ok: false, error: EPROTONOSUPPORT });
    expect(h.layer.stats.socreateNoProto).toBe(5);
  });

  it('protocol 0 picks the default protocol of the type; UDP attach reserves 9216 / 786896', () => {
    const h = setup();
    for (const af of [AF_INET, AF_INET6]) {
      const r = h.layer.socreate(af, SOCK_DGRAM, 0);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      const so = r.value;
      expect(so.so_proto.pr_protocol).toBe(IPPROTO_UDP);
      expect(so.so_domain).toBe(af);
      expect(so.so_snd.sb_hiwat).toBe(9216);
      expect(so.so_rcv.sb_hiwat).toBe(786896);
      expect(so.so_rcv.sb_lowat).toBe(1);
      expect(so.so_snd.sb_lowat).toBe(2048);
      expect(so.so_state).toBe(0);
    }
    expect(h.layer.stats.active).toBe(2);
  });
});

describe('wakeups and listeners', () => {
  it('delivers events after the entry point, never during it, one call per socket for several wakeups', () => {
    const h = setup();
    const so = udpSocket(h);
    expect(soconnect(so, sa('198.18.0.1:4000'), 0)).toBe(0); // soisconnected: read + write wakeup
    const rec = new Recorder();
    so.setListener(rec);
    inject(h, { ...FROM, payload: bytes(1) });
    inject(h, { ...FROM, payload: bytes(2) });
    inject(h, { ...FROM, payload: bytes(3) });
    expect(rec.calls).toHaveLength(0); // nothing re-entrant
    expect(h.ctx.workRequests).toBeGreaterThan(0);
    h.ctx.endOfEntry();
    expect(rec.calls).toHaveLength(1);
    expect(rec.calls[0]!.events).toBe(Ev.In);
    expect(h.layer.stats.upcallsCoalesced).toBe(2);
    h.ctx.endOfEntry();
    expect(rec.calls).toHaveLength(1);
  });

  it('a listener may call into the socket; what it causes is delivered in the next run, not recursively', () => {
    const h = setup();
    const a = udpSocket(h);
    soconnect(a, sa('198.18.0.1:4000'), 0);
    let depth = 0;
    const seen: number[] = [];
    a.setListener({
      onSocketEvent(so, events) {
        depth++;
        expect(depth).toBe(1);
        seen.push(events);
        const r = recv(so);
        if (r.e === 0 && r.data[0] === 1) soseterror(so, 61); // causes a new wakeup while delivering
        depth--;
      },
    });
    inject(h, { ...FROM, payload: bytes(1) });
    h.ctx.endOfEntry();
    expect(seen).toHaveLength(1);
    h.ctx.endOfEntry();
    expect(seen).toHaveLength(2);
    expect(seen[1]! & Ev.Err).toBe(Ev.Err);
    expect(seen[1]! & (Ev.In | Ev.Out)).toBe(Ev.In | Ev.Out);
  });

  it('a read-only listener (x86_64 sock_setupcall) gets no write wakeups', () => {
    const h = setup();
    const so = udpSocket(h);
    const rec = new Recorder();
    so.setListener(rec, UPCALL_READ);
    soconnect(so, sa('198.18.0.1:4000'), 0);
    h.ctx.endOfEntry();
    expect(rec.calls).toHaveLength(1);
    expect(rec.calls[0]!.events).toBe(Ev.In);
    expect(rec.calls[0]!.hints & SO_FILT_HINT_CONNECTED).toBe(SO_FILT_HINT_CONNECTED);
  });

  it('SHUT_RD fires the read upcall one last time, then removes it; later datagrams are dropped', () => {
    const h = setup();
    const so = udpSocket(h);
    soconnect(so, sa('198.18.0.1:4000'), 0);
    inject(h, { ...FROM, payload: bytes(1, 2, 3) });
    const rec = new Recorder();
    so.setListener(rec);
    expect(soshutdown(so, SHUT_RD, 0)).toBe(0);
    expect(so.so_state & SS_CANTRCVMORE).toBe(SS_CANTRCVMORE);
    expect(so.so_rcv.sb_cc).toBe(0); // queued data discarded
    h.ctx.endOfEntry();
    expect(rec.calls).toHaveLength(1);
    expect(rec.calls[0]!.events & (Ev.In | Ev.RdHUp)).toBe(Ev.In | Ev.RdHUp);
    inject(h, { ...FROM, payload: bytes(4) });
    h.ctx.endOfEntry();
    expect(rec.calls).toHaveLength(1);
    expect(h.udp.stats.udps_fullsock).toBe(1);
    expect(recv(so).e).toBe(0); // EOF
    expect(recv(so).data.length).toBe(0);
    soclose(so, 0);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });

  it('no events after close or after removing the listener; a throwing listener does not starve others', () => {
    const h = setup();
    const a = udpSocket(h);
    const b = udpSocket(h);
    soconnect(a, sa('198.18.0.1:4000'), 0);
    soconnect(b, sa('198.18.0.1:4001'), 0);
    h.ctx.endOfEntry();
    const rec = new Recorder();
    a.setListener({ onSocketEvent() { throw new Error('listener bug'); } });
    b.setListener(rec);
    inject(h, { ...FROM, payload: bytes(1) });
    inject(h, { ...FROM, sport: 4001, payload: bytes(1) });
    expect(() => h.ctx.endOfEntry()).toThrow('listener bug');
    expect(rec.calls).toHaveLength(1);
    expect(h.layer.stats.listenerExceptions).toBe(1);
    inject(h, { ...FROM, sport: 4001, payload: bytes(2) });
    b.setListener(null);
    h.ctx.endOfEntry();
    expect(rec.calls).toHaveLength(1);
    b.setListener(rec);
    inject(h, { ...FROM, sport: 4001, payload: bytes(3) });
    soclose(b, 0);
    h.ctx.endOfEntry();
    expect(rec.calls).toHaveLength(1);
    soclose(a, 0);
    expect(h.layer.stats.active).toBe(0);
    expect(h.ctx.pool.stats.mbufsInUse).toBe(0);
  });
});
