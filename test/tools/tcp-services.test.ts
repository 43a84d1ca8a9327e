// The TCP echo and discard services (tools/services) share one scratch buffer per server: these
// check that connections served side by side never see each other's bytes, in particular when
// the echo service must keep unsent bytes across passes because the peer stopped reading.

import { describe, expect, it } from 'vitest';
import { buildSimWorld } from '../../tools/sim-world.js';
import type { SimWorld } from '../../tools/sim-world.js';
import { ServiceSet } from '../../tools/services/registry.js';
import { TcpEchoConnection } from '../../tools/services/tcp-echo.js';
import { TcpDiscardConnection } from '../../tools/services/tcp-discard.js';
import type { Socket } from '../../stack/socket/socket.js';
import { SoRecvMsg, soreceive } from '../../stack/socket/so-receive.js';
import { sosend } from '../../stack/socket/so-send.js';
import { soclose, soconnect, soshutdown } from '../../stack/socket/so-ops.js';
import { encodeSockaddr } from '../../stack/socket/sockaddr.js';
import {
  AF_INET, AF_INET6, IPPROTO_TCP, MSG_DONTWAIT, SHUT_WR, SOCK_STREAM, SS_CANTSENDMORE, SS_ISCONNECTED,
} from '../../stack/socket/constants.js';
import { EWOULDBLOCK } from '../../stack/errno.js';

/** A client socket on host a that sends and reads only when told to. */
class Peer {
  sent = 0;
  readonly got: Uint8Array[] = [];
  eof = false;
  private readonly buf = new Uint8Array(65536);
  private readonly msg = new SoRecvMsg();
  private readonly box = { value: 0 };

  constructor(readonly w: SimWorld, readonly so: Socket, readonly data: Uint8Array) {}

  static open(w: SimWorld, family: 4 | 6, port: number, data: Uint8Array): Peer {
    const r = w.a.stack.sockets.socreate(family === 4 ? AF_INET : AF_INET6, SOCK_STREAM, IPPROTO_TCP);
    if (!r.ok) throw new Error(`socreate: ${r.error}`);
    const p = new Peer(w, r.value, data);
    expect(soconnect(r.value, encodeSockaddr({ addr: family === 4 ? w.b.v4 : w.b.v6, port }), w.sim.now)).toBe(0);
    return p;
  }

  get connected(): boolean { return (this.so.so_state & SS_ISCONNECTED) !== 0; }

  /** Sends as much of the rest of `data` as the socket takes now. */
  pump(): void {
    while (this.sent < this.data.length) {
      const e = sosend(this.so, null, [this.data.subarray(this.sent)], null, null, 0, this.w.sim.now, this.box);
      if (e === EWOULDBLOCK || this.box.value === 0) return;
      expect(e).toBe(0);
      this.sent += this.box.value;
    }
  }

  /** Reads everything queued. */
  drain(): void {
    for (;;) {
      const e = soreceive(this.so, [this.buf], MSG_DONTWAIT, this.msg, this.w.sim.now);
      if (e === EWOULDBLOCK) return;
      expect(e).toBe(0);
      if (this.msg.len === 0) { this.eof = true; return; }
      this.got.push(this.buf.slice(0, this.msg.len));
    }
  }
}

function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

describe('TCP services with a shared scratch buffer', () => {
  it('echo: two connections that stall under backpressure get their own bytes back, byte-exact', () => {
    const w = buildSimWorld({ seed: 7 });
    const services = ServiceSet.start(w.b.stack, ['echo']);
    const peers = [Peer.open(w, 4, 7, pattern(6_000_000, 1)), Peer.open(w, 6, 7, pattern(4_500_000, 2))];
    expect(w.sim.runUntil(() => peers.every((p) => p.connected) && services.tcpServers[0]!.conns.size === 2, 1000)).toBe(true);
    // Send without reading: the echo server fills its send buffer and our receive buffers, and
    // has to keep what it read but could not send yet.
    for (let i = 0; i < 50; i++) {
      for (const p of peers) p.pump();
      w.sim.runFor(10);
    }
    const conns = [...services.tcpServers[0]!.conns] as TcpEchoConnection[];
    expect(conns).toHaveLength(2);
    for (const c of conns) expect(c).toBeInstanceOf(TcpEchoConnection);
    // Stalled: our receive buffers are full, the server echoed part and holds the rest.
    for (const p of peers) expect(p.so.so_rcv.sb_cc).toBe(p.so.so_rcv.sb_hiwat);
    for (const c of conns) {
      expect(c.echoed).toBeGreaterThan(0);
      expect(c.so.so_rcv.sb_cc).toBeGreaterThan(0);
    }
    // Now read and send alternately until everything is back.
    for (let i = 0; i < 10_000 && !peers.every((p) => p.eof); i++) {
      for (const p of peers) {
        p.drain();
        p.pump();
        if (p.sent === p.data.length && !p.eof && (p.so.so_state & SS_CANTSENDMORE) === 0) {
          expect(soshutdown(p.so, SHUT_WR, w.sim.now)).toBe(0);
        }
      }
      w.sim.runFor(5);
    }
    for (const p of peers) {
      expect(p.eof).toBe(true);
      const back = Buffer.concat(p.got);
      expect(back.length).toBe(p.data.length);
      expect(back.equals(p.data)).toBe(true);
      soclose(p.so, w.sim.now);
    }
    expect(conns.map((c) => c.echoed).sort()).toEqual([4_500_000, 6_000_000]);
    services.close();
  });

  it('discard: connections served side by side each count their own bytes; the listener counts accepts', () => {
    const w = buildSimWorld({ seed: 8 });
    const lines: string[] = [];
    const services = ServiceSet.start(w.b.stack, ['discard'], { onAccept: (l) => lines.push(l) });
    const sizes = [300_000, 1, 70_000];
    const peers = sizes.map((n, i) => Peer.open(w, i === 1 ? 6 : 4, 9, pattern(n, i)));
    expect(w.sim.runUntil(() => peers.every((p) => p.connected) && services.tcpServers[0]!.conns.size === 3, 1000)).toBe(true);
    const conns = [...services.tcpServers[0]!.conns] as TcpDiscardConnection[];
    for (let i = 0; i < 10_000 && !peers.every((p) => p.eof); i++) {
      for (const p of peers) {
        p.pump();
        p.drain();
        if (p.sent === p.data.length && (p.so.so_state & SS_CANTSENDMORE) === 0) expect(soshutdown(p.so, SHUT_WR, w.sim.now)).toBe(0);
      }
      w.sim.runFor(5);
    }
    for (const p of peers) {
      expect(p.eof).toBe(true);
      expect(p.got).toEqual([]);
      soclose(p.so, w.sim.now);
    }
    expect(conns.map((c) => c.discarded).sort((x, y) => x - y)).toEqual([1, 70_000, 300_000]);
    expect(services.tcpServers[0]!.accepted).toBe(3);
    expect(lines).toHaveLength(3);
    expect(lines.filter((l) => /^discard: connection from 198\.18\.0\.1:\d+$/.test(l))).toHaveLength(2);
    expect(lines.filter((l) => /^discard: connection from \[2001:db8::1\]:\d+$/.test(l))).toHaveLength(1);
    services.close();
  });
});
