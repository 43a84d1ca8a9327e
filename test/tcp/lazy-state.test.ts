// Per-connection state built on first use (tcp-var.ts): the sender's SACK scoreboard on the first
// SACK block, the receiver's SACK blocks and the reassembly queue on the first out-of-order
// segment, all dropped when the connection closes; and connection addresses shared between
// connections (IpAddr is immutable) instead of copied for each.

import { describe, expect, it } from 'vitest';
import { PacketHost, TH, optMss, optSack, optSackOk, optWs } from './harness.js';
import { accept, listenOn, send } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { soclose } from '../../stack/socket/so-ops.js';
import { IpAddr } from '../../stack/wire/ip-addr.js';
import { tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';

const PEER_ISS = 100_000;
const data = (n: number): Uint8Array => new Uint8Array(n).fill(0x61);

/** Accepts a connection from PEER:`port` on *:80 of `h` (SACK permitted). */
function accepted(h: PacketHost, lis: Socket, port = 40000): { so: Socket; rcv: number; snd: number } {
  h.inject({ flags: TH.SYN, sport: port, seq: PEER_ISS, win: 65535, opts: [...optMss(1460), ...optWs(0), ...optSackOk()] });
  const synack = h.one();
  h.inject({ flags: TH.ACK, sport: port, seq: PEER_ISS + 1, ack: synack.seq + 1 });
  const so = accept(lis)!;
  h.take();
  return { so, rcv: (synack.seq + 1) >>> 0, snd: PEER_ISS + 1 };
}

describe('lazily built connection state', () => {
  it('an in-order connection never builds the scoreboard, SACK blocks or reassembly queue', () => {
    const h = new PacketHost({ seed: 7 });
    const lis = listenOn(h.stack, IpAddr.ANY4, 80);
    const c = accepted(h, lis);
    const tp = tcpcbOf(c.so)!;
    h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(100) });
    expect(send(c.so, data(100), h.now).e).toBe(0);
    h.poll();
    h.take();
    h.inject({ flags: TH.ACK, seq: c.snd + 100, ack: c.rcv + 100 });
    expect(tp.scoreboard).toBeNull();
    expect(tp.sackRcv).toBeNull();
    expect(tp.reass).toBeNull();
  });

  it('out-of-order data builds the queue and SACK blocks; the SACK option is as before', () => {
    const h = new PacketHost({ seed: 7 });
    const lis = listenOn(h.stack, IpAddr.ANY4, 80);
    const c = accepted(h, lis);
    const tp = tcpcbOf(c.so)!;
    h.inject({ flags: TH.ACK, seq: c.snd + 1000, ack: c.rcv, payload: data(500) });
    const a = h.one();
    expect(a.ack).toBe(c.snd);
    expect(a.optText).toBe(`nop,nop,sack 1 {${c.snd + 1000}:${c.snd + 1500}}`);
    expect(tp.reass?.segments).toBe(1);
    expect(tp.sackRcv?.count).toBe(1);
    h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, payload: data(1000) });
    expect(h.one().ack).toBe(c.snd + 1500);
    expect(tp.reass?.isEmpty).toBe(true);
    expect(tp.sackRcv?.count).toBe(0);
  });

  it('the first SACK block builds the scoreboard; closing drops all of it', () => {
    const h = new PacketHost({ seed: 7 });
    const lis = listenOn(h.stack, IpAddr.ANY4, 80);
    const c = accepted(h, lis);
    const tp = tcpcbOf(c.so)!;
    expect(send(c.so, data(4 * 1460), h.now).e).toBe(0);
    h.poll();
    h.take();
    h.inject({ flags: TH.ACK, seq: c.snd, ack: c.rcv, opts: optSack([[c.rcv + 1460, c.rcv + 2920]]) });
    expect(tp.scoreboard?.rangeCount).toBe(1);
    expect(tp.scoreboard?.sackedBytes).toBe(1460);
    h.inject({ flags: TH.RST | TH.ACK, seq: c.snd, ack: c.rcv });
    expect(tp.scoreboard).toBeNull();
    expect(tp.sackRcv).toBeNull();
    expect(tp.reass).toBeNull();
    soclose(c.so, h.now);
  });
});

describe('connection addresses are shared, not copied per connection', () => {
  it('children accepted from the same peer share their local and foreign IpAddr objects', () => {
    const h = new PacketHost({ seed: 7 });
    const lis = listenOn(h.stack, IpAddr.ANY4, 80);
    const p1 = tcpcbOf(accepted(h, lis, 40000).so)!.t_inpcb;
    const p2 = tcpcbOf(accepted(h, lis, 40001).so)!.t_inpcb;
    expect(p2.faddr).toBe(p1.faddr);
    expect(p2.laddr).toBe(p1.laddr);
    expect(p1.faddr.toString()).not.toBe(p1.laddr.toString());
    expect(p1.fport).toBe(40000);
    expect(p2.fport).toBe(40001);
  });
});
