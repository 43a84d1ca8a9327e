// Packet-level tests of server-side TCP Fast Open (RFC 7413) as XNU's server does it
// (stack/tcp/tcp-fastopen.ts): cookie request → cookie in the SYN-ACK; a valid cookie with data →
// the data acknowledged by the SYN-ACK, the child acceptable and readable at once; an invalid
// cookie → data not acknowledged, a fresh cookie; the stack-wide fastopen backlog; the sysctls;
// the socket option's errnos; the counters and TCP_CONNECTION_INFO's tcpi_tfo_* bits.

import { describe, expect, it } from 'vitest';
import { PacketHost, PEER, TH, optMss, optSackOk, optTs, optWs } from './harness.js';
import { accept, listenOn, recv, send, soclose } from './helpers.js';
import type { Socket } from '../../stack/socket/socket.js';
import { sogetopt, sosetopt } from '../../stack/socket/so-options.js';
import { SockOpt, sooptInt } from '../../stack/socket/sockopt.js';
import { IPPROTO_TCP, SOL_SOCKET, SO_RCVBUF, SS_ISCONNECTED } from '../../stack/socket/constants.js';
import { EINVAL, ENOTSUP } from '../../stack/socket/errno.js';
import { sipHash24Hex } from '../../stack/random/siphash.js';
import { withProfile, XNU_PROFILE } from '../../stack/tcp/tcp-profile.js';
import type { TcpProfile } from '../../stack/tcp/tcp-profile.js';
import { sysctlGet, sysctlSet } from '../../stack/tcp/tcp-sysctl.js';
import { TCP_CONNECTION_INFO, TCP_FASTOPEN, tcpcbOf } from '../../stack/tcp/tcp-usrreq.js';
import {
  TCPI_TFO_COOKIE_INVALID, TCPI_TFO_COOKIE_REQ_RCV, TCPI_TFO_COOKIE_SENT, TCPI_TFO_SYN_DATA_RCV,
} from '../../stack/tcp/tcp-fastopen.js';
import { TCPS_ESTABLISHED, TCPS_SYN_RECEIVED } from '../../stack/tcp/tcp-fsm.js';

const KEY_HEX = '000102030405060708090a0b0c0d0e0f';
/** The key bytes as XNU's sysctl reads the hex: four %8x words, each stored little-endian. */
const KEY = Uint8Array.from([3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8, 15, 14, 13, 12]);
const PROFILE = withProfile(XNU_PROFILE, { fastopenKey: KEY_HEX });

/** The 16-byte cookie block for `addr` (4 bytes): SipHash-2-4 of the zero-padded block, then of it and 0x01. */
function cookieBlock(addr: Uint8Array): Uint8Array {
  const b = new Uint8Array(17);
  b.set(addr, 0);
  const hex = sipHash24Hex(KEY, b.subarray(0, 16)) + (b[16] = 1, sipHash24Hex(KEY, b));
  return Uint8Array.from(hex.match(/../g)!.map((x) => parseInt(x, 16)));
}
const BLOCK = cookieBlock(PEER.bytes);
const COOKIE = BLOCK.subarray(0, 8);
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

const optFo = (cookie: Uint8Array = new Uint8Array(0)): number[] => [34, 2 + cookie.length, ...cookie];
const SYN_OPTS = [...optMss(1460), ...optWs(6), ...optSackOk(), ...optTs(1000, 0)];
const data = (n: number, fill = 0x61): Uint8Array => new Uint8Array(n).fill(fill);

function setInt(so: Socket, name: number, v: number): number {
  return sosetopt(so, SockOpt.set(IPPROTO_TCP, name, sooptInt(v)));
}
function getInt(so: Socket, name: number): { e: number; v: number } {
  const sopt = SockOpt.get(IPPROTO_TCP, name, 4);
  const e = sogetopt(so, sopt);
  return { e, v: e === 0 ? new DataView(sopt.sopt_val!.buffer).getInt32(0, true) : -1 };
}
function tfoBits(so: Socket): number {
  const sopt = SockOpt.get(IPPROTO_TCP, TCP_CONNECTION_INFO, 112);
  expect(sogetopt(so, sopt)).toBe(0);
  return new DataView(sopt.sopt_val!.buffer).getUint32(52, true);
}

/** A stack listening on :80 with TCP_FASTOPEN set (unless `enable` is false). */
function tfoServer(o: { profile?: TcpProfile; enable?: boolean; seed?: number } = {}) {
  const h = new PacketHost({ profile: o.profile ?? PROFILE, seed: o.seed ?? 3 });
  const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
  if (o.enable !== false) expect(setInt(lis, TCP_FASTOPEN, 1)).toBe(0);
  return { h, lis };
}

describe('cookie request (RFC 7413 §4.1.2)', () => {
  it('an empty Fast Open option gets our 8-byte cookie after sackOK, in a 32-byte option list without padding', () => {
    const { h, lis } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo()] });
    const sa = h.one();
    expect(sa.flags).toBe(TH.SYN | TH.ACK);
    expect(sa.ack).toBe(1001);
    expect(sa.optText).toMatch(new RegExp(`^mss 1460,nop,wscale 7,nop,nop,TS val \\d+ ecr 1000,sackOK,tfo cookie ${hex(COOKIE)}$`));
    expect(sa.opts.length).toBe(32);
    expect(h.stats.tcps_tfo_cookie_req_rcv).toBe(1);
    expect(h.stats.tcps_tfo_cookie_sent).toBe(1);
    // An ordinary handshake otherwise: nothing to accept before the ACK.
    expect(accept(lis)).toBeNull();
    h.inject({ flags: TH.ACK, seq: 1001, ack: sa.seq + 1, opts: optTs(1001, sa.tsval) });
    const child = accept(lis)!;
    expect(tcpcbOf(child)!.t_state).toBe(TCPS_ESTABLISHED);
    expect(tfoBits(child)).toBe(TCPI_TFO_COOKIE_REQ_RCV | TCPI_TFO_COOKIE_SENT);
  });

  it('without timestamps and SACK the cookie follows the window scale, EOL-padded', () => {
    const { h } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optWs(6), ...optFo()] });
    const sa = h.one();
    expect(sa.optText).toBe(`mss 1460,nop,wscale 7,tfo cookie ${hex(COOKIE)},eol`);
    expect(sa.opts.length).toBe(20);
  });

  it('a retransmitted SYN-ACK carries the cookie again and counts again (tcp_tfo_write_cookie_rep)', () => {
    const { h } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo()] });
    expect(h.one().optText).toContain(`tfo cookie ${hex(COOKIE)}`);
    h.advance(1100);
    const again = h.one();
    expect(again.flags).toBe(TH.SYN | TH.ACK);
    expect(again.optText).toContain(`tfo cookie ${hex(COOKIE)}`);
    expect(h.stats.tcps_tfo_cookie_sent).toBe(2);
    expect(h.stats.tcps_tfo_cookie_req_rcv).toBe(1);
  });

  it('under TCP_NOOPT the SYN-ACK still carries the cookie, and nothing else (XNU tcp_output)', () => {
    const { h, lis } = tfoServer();
    expect(setInt(lis, 0x08 /* TCP_NOOPT */, 1)).toBe(0);
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo()] });
    expect(h.one().optText).toBe(`tfo cookie ${hex(COOKIE)},eol`);
  });

  it('a listener without TCP_FASTOPEN ignores the option: no cookie, no counter', () => {
    const { h } = tfoServer({ enable: false });
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo()] });
    expect(h.one().optText).toMatch(/^mss 1460,nop,wscale 7,nop,nop,TS val \d+ ecr 1000,sackOK,eol$/);
    expect(h.stats.tcps_tfo_cookie_req_rcv).toBe(0);
    expect(h.stats.tcps_tfo_cookie_sent).toBe(0);
  });

  it('the key comes from the stack RNG when none was set: the same seed gives the same cookie', () => {
    const cookieOf = (seed: number): string => {
      const { h } = tfoServer({ profile: XNU_PROFILE, seed });
      h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo()] });
      return /tfo cookie ([0-9a-f]{16})/.exec(h.one().optText)![1]!;
    };
    expect(cookieOf(5)).toBe(cookieOf(5));
    expect(cookieOf(5)).not.toBe(cookieOf(6));
    expect(cookieOf(5)).not.toBe(hex(COOKIE));
  });
});

describe('SYN with a valid cookie and data (RFC 7413 §4.2.2)', () => {
  it('acknowledges the data in the SYN-ACK, makes the child acceptable and readable before the ACK', () => {
    const { h, lis } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo(COOKIE)], payload: data(10, 0x68) });
    const sa = h.one();
    expect(sa.flags).toBe(TH.SYN | TH.ACK);
    expect(sa.ack).toBe(1011);
    // A valid cookie is not offered again: XNU's ordinary SYN-ACK layout.
    expect(sa.optText).toMatch(/^mss 1460,nop,wscale 7,nop,nop,TS val \d+ ecr 1000,sackOK,eol$/);
    expect(sa.payload.length).toBe(0);
    expect(h.stats.tcps_tfo_syn_data_rcv).toBe(1);
    expect(h.stats.tcps_tfo_cookie_sent).toBe(0);
    expect(h.stats.tcps_rcvsyndata).toBe(0);
    expect(h.stack.tcp.tfo.halfcnt).toBe(1);
    // XNU soisconnected() at `dodata`: on the completed queue, connected, data readable.
    expect(lis.so_comp.length).toBe(1);
    const child = accept(lis)!;
    expect(child.so_state & SS_ISCONNECTED).toBe(SS_ISCONNECTED);
    expect(tcpcbOf(child)!.t_state).toBe(TCPS_SYN_RECEIVED);
    expect(Array.from(recv(child, h.now).data)).toEqual(Array.from(data(10, 0x68)));
    expect(tfoBits(child)).toBe(TCPI_TFO_SYN_DATA_RCV);
    // The reply waits for the handshake's ACK (XNU would repeat the SYN-ACK with it).
    expect(send(child, data(5, 0x72), h.now).e).toBe(0);
    h.poll();
    expect(h.take()).toEqual([]);
    h.inject({ flags: TH.ACK, seq: 1011, ack: sa.seq + 1, opts: optTs(1001, sa.tsval) });
    const out = h.take().filter((o) => o.payload.length > 0);
    expect(out.length).toBe(1);
    expect(out[0]!.seq).toBe(sa.seq + 1);
    expect(Array.from(out[0]!.payload)).toEqual(Array.from(data(5, 0x72)));
    expect(tcpcbOf(child)!.t_state).toBe(TCPS_ESTABLISHED);
    expect(h.stack.tcp.tfo.halfcnt).toBe(0);
    expect(h.stats.tcps_accepts).toBe(1);
    // Connected once: the completed queue did not get it a second time.
    expect(lis.so_comp.length).toBe(0);
  });

  it('a valid cookie without data still connects the child at once (tcp_tfo_syn does not look at the data)', () => {
    const { h, lis } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo(COOKIE)] });
    expect(h.one().ack).toBe(1001);
    expect(h.stats.tcps_tfo_syn_data_rcv).toBe(1);
    expect(accept(lis)).not.toBeNull();
  });

  it('compares as many bytes as the peer sent, 4 to 16, as XNU does (memcmp of the cookie length)', () => {
    for (const c of [BLOCK.subarray(0, 4), BLOCK.subarray(0, 12), BLOCK]) {
      const { h, lis } = tfoServer();
      h.inject({ flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo(c)], payload: data(3) });
      expect(h.one().ack).toBe(1004);
      expect(accept(lis)).not.toBeNull();
    }
    // 3 bytes is no cookie at all (RFC 7413 §4.1.1): ignored, no counter.
    const { h } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo(BLOCK.subarray(0, 3))], payload: data(3) });
    expect(h.one().ack).toBe(1001);
    expect(h.stats.tcps_tfo_cookie_invalid + h.stats.tcps_tfo_syn_data_rcv + h.stats.tcps_tfo_cookie_req_rcv).toBe(0);
  });

  it('a retransmitted SYN with the same data (our SYN-ACK was lost) gets the SYN-ACK again; the data is not taken twice', () => {
    const { h, lis } = tfoServer();
    const syn = { flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo(COOKIE)], payload: data(10) };
    h.inject(syn);
    const sa = h.one();
    h.inject(syn);
    const again = h.one();
    expect([again.flags, again.seq, again.ack]).toEqual([TH.SYN | TH.ACK, sa.seq, 1011]);
    expect(h.stats.tcps_tfo_syn_data_rcv).toBe(1);
    expect(h.stack.tcp.tfo.halfcnt).toBe(1);
    expect(recv(accept(lis)!, h.now).data.length).toBe(10);
  });

  it('cuts the data to the receive window', () => {
    const { h, lis } = tfoServer();
    expect(sosetopt(lis, SockOpt.set(SOL_SOCKET, SO_RCVBUF, sooptInt(1000)))).toBe(0);
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo(COOKIE)], payload: data(1400) });
    expect(h.one().ack).toBe(2001);
    expect(h.stats.tcps_rcvbyteafterwin).toBe(400);
    expect(recv(accept(lis)!, h.now).data.length).toBe(1000);
  });

  it('closing an early-accepted child with unread data sends a RST (XNU tcp_disconnect) and frees its backlog place', () => {
    const { h, lis } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo(COOKIE)], payload: data(10) });
    const sa = h.one();
    const child = accept(lis)!;
    soclose(child, h.now);
    h.poll();
    const r = h.one();
    expect(r.flags & TH.RST).toBe(TH.RST);
    expect(r.seq).toBe(sa.seq + 1);
    expect(h.stack.tcp.tfo.halfcnt).toBe(0);
  });

  it('closing it in SYN_RECEIVED after reading everything just frees it, as XNU tcp_disconnect does: the ACK gets a RST', () => {
    const { h, lis } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo(COOKIE)], payload: data(10) });
    const sa = h.one();
    const child = accept(lis)!;
    expect(recv(child, h.now).data.length).toBe(10);
    soclose(child, h.now);
    h.poll();
    expect(h.take()).toEqual([]);
    expect(h.stack.tcp.tfo.halfcnt).toBe(0);
    h.inject({ flags: TH.ACK, seq: 1011, ack: sa.seq + 1 });
    const r = h.one();
    expect(r.flags).toBe(TH.RST);
    expect(r.seq).toBe(sa.seq + 1);
  });

  it('a RST before the ACK frees the backlog place (tcp_close)', () => {
    const { h } = tfoServer();
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo(COOKIE)], payload: data(10) });
    h.one();
    expect(h.stack.tcp.tfo.halfcnt).toBe(1);
    h.inject({ flags: TH.RST, seq: 1011 });
    expect(h.stack.tcp.tfo.halfcnt).toBe(0);
  });
});

describe('SYN with an invalid cookie', () => {
  it('does not acknowledge the data and offers a fresh cookie; the handshake is an ordinary one', () => {
    const { h, lis } = tfoServer();
    const wrong = Uint8Array.from(COOKIE, (b) => b ^ 0xff);
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo(wrong)], payload: data(10) });
    const sa = h.one();
    expect(sa.ack).toBe(1001);
    expect(sa.optText).toContain(`sackOK,tfo cookie ${hex(COOKIE)}`);
    expect(h.stats.tcps_tfo_cookie_invalid).toBe(1);
    expect(h.stats.tcps_tfo_cookie_sent).toBe(1);
    expect(h.stats.tcps_tfo_syn_data_rcv).toBe(0);
    expect(h.stack.tcp.tfo.halfcnt).toBe(0);
    expect(accept(lis)).toBeNull();
    h.inject({ flags: TH.ACK, seq: 1001, ack: sa.seq + 1, opts: optTs(1001, sa.tsval) });
    const child = accept(lis)!;
    expect(tfoBits(child)).toBe(TCPI_TFO_COOKIE_INVALID | TCPI_TFO_COOKIE_SENT);
  });
});

describe('fastopen backlog (net.inet.tcp.fastopen_backlog, tcp_tfo_halfcnt)', () => {
  it('beyond the backlog a valid cookie gets an ordinary handshake: data not acknowledged, no cookie, no counter', () => {
    const { h, lis } = tfoServer({ profile: withProfile(PROFILE, { fastopenBacklog: 2 }) });
    const syn = (sport: number): void =>
      h.inject({ sport, flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo(COOKIE)], payload: data(10) });
    syn(40001);
    syn(40002);
    const [a, b] = h.take();
    expect(a!.ack).toBe(1011);
    expect(b!.ack).toBe(1011);
    syn(40003);
    const c = h.one();
    expect(c.ack).toBe(1001);
    expect(c.optText).not.toContain('tfo');
    expect(h.stats.tcps_tfo_syn_data_rcv).toBe(2);
    expect(h.stack.tcp.tfo.halfcnt).toBe(2);
    expect(lis.so_comp.length).toBe(2);
    // The first one's ACK frees a place: the next valid SYN gets in.
    h.inject({ sport: 40001, flags: TH.ACK, seq: 1011, ack: a!.seq + 1, opts: optTs(1001, a!.tsval) });
    expect(h.stack.tcp.tfo.halfcnt).toBe(1);
    h.take(); // the window update XNU sends when the ACK opens the scaled window
    syn(40004);
    expect(h.one().ack).toBe(1011);
    expect(h.stats.tcps_tfo_syn_data_rcv).toBe(3);
  });

  it('is stack-wide: two TFO listeners share it', () => {
    const { h } = tfoServer({ profile: withProfile(PROFILE, { fastopenBacklog: 1 }) });
    const lis2 = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 81);
    expect(setInt(lis2, TCP_FASTOPEN, 1)).toBe(0);
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo(COOKIE)], payload: data(10) });
    expect(h.one().ack).toBe(1011);
    h.inject({ dport: 81, flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo(COOKIE)], payload: data(10) });
    expect(h.one().ack).toBe(1001);
  });
});

describe('sysctls', () => {
  it('net.inet.tcp.fastopen without the server bit: no cookie for a TFO listener, ENOTSUP for the option', () => {
    const { h, lis } = tfoServer();
    const r = sysctlSet(h.stack.tcp.profile, 'net.inet.tcp.fastopen', '2');
    expect(r.ok).toBe(true);
    if (r.ok) h.stack.tcp.setProfile(r.profile);
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo()] });
    expect(h.one().optText).not.toContain('tfo');
    h.inject({ sport: 40001, flags: TH.SYN, seq: 1000, opts: [...SYN_OPTS, ...optFo(COOKIE)], payload: data(4) });
    expect(h.one().ack).toBe(1001);
    expect(h.stats.tcps_tfo_cookie_req_rcv + h.stats.tcps_tfo_syn_data_rcv + h.stats.tcps_tfo_cookie_sent).toBe(0);
    expect(setInt(lis, TCP_FASTOPEN, 1)).toBe(ENOTSUP);
    expect(getInt(lis, TCP_FASTOPEN).e).toBe(ENOTSUP);
  });

  it('names, defaults and values: XNU 3 / backlog 10; FreeBSD server_enable 0, client_enable 1; the key is write-only', () => {
    expect(sysctlGet(XNU_PROFILE, 'net.inet.tcp.fastopen')).toEqual({ ok: true, value: 3 });
    expect(sysctlGet(XNU_PROFILE, 'net.inet.tcp.fastopen_backlog')).toEqual({ ok: true, value: 10 });
    expect(sysctlGet(XNU_PROFILE, 'net.inet.tcp.fastopen.server_enable')).toEqual({ ok: true, value: 1 });
    const off = sysctlSet(XNU_PROFILE, 'net.inet.tcp.fastopen.server_enable', '0');
    expect(off.ok && off.profile.fastopen).toBe(2);
    const k = sysctlSet(XNU_PROFILE, 'net.inet.tcp.fastopen_key', KEY_HEX.toUpperCase());
    expect(k.ok && k.profile.fastopenKey).toBe(KEY_HEX);
    expect(sysctlGet(k.ok ? k.profile : XNU_PROFILE, 'net.inet.tcp.fastopen_key')).toEqual({ ok: true, value: '' });
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.fastopen_key', '0011').ok).toBe(false);
    expect(sysctlSet(XNU_PROFILE, 'net.inet.tcp.fastopen_key', 'x'.repeat(32)).ok).toBe(false);
  });

  it('the FreeBSD profile has server TFO off: the option is ENOTSUP', async () => {
    const { FREEBSD_PROFILE } = await import('../../stack/tcp/tcp-profile.js');
    expect(sysctlGet(FREEBSD_PROFILE, 'net.inet.tcp.fastopen.server_enable')).toEqual({ ok: true, value: 0 });
    expect(sysctlGet(FREEBSD_PROFILE, 'net.inet.tcp.fastopen.client_enable')).toEqual({ ok: true, value: 1 });
    const { lis } = tfoServer({ profile: FREEBSD_PROFILE, enable: false });
    expect(setInt(lis, TCP_FASTOPEN, 1)).toBe(ENOTSUP);
  });
});

describe('TCP_FASTOPEN option errnos (XNU tcp_ctloutput)', () => {
  it('EINVAL unless listening or for values other than 0/1; get: ENOTSUP unless listening, else 0/1', () => {
    const h = new PacketHost({ profile: PROFILE });
    const lis = listenOn(h.stack, h.stack.ip.ifnets[0]!.addrs4[0]!.addr, 80);
    expect(getInt(lis, TCP_FASTOPEN)).toEqual({ e: 0, v: 0 });
    expect(setInt(lis, TCP_FASTOPEN, 2)).toBe(EINVAL);
    expect(setInt(lis, TCP_FASTOPEN, -1)).toBe(EINVAL);
    expect(setInt(lis, TCP_FASTOPEN, 1)).toBe(0);
    expect(getInt(lis, TCP_FASTOPEN)).toEqual({ e: 0, v: 1 });
    // A child inherits the mark but is not a listener: EINVAL to set, ENOTSUP to get.
    h.inject({ flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo(COOKIE)] });
    const child = accept(lis)!;
    expect(tcpcbOf(child)!.t_fastopen).toBe(true);
    expect(setInt(child, TCP_FASTOPEN, 1)).toBe(EINVAL);
    expect(getInt(child, TCP_FASTOPEN).e).toBe(ENOTSUP);
    // Clearing it stops new TFO children (tcp_disable_tfo), not the existing ones.
    expect(setInt(lis, TCP_FASTOPEN, 0)).toBe(0);
    h.take();
    h.inject({ sport: 40001, flags: TH.SYN, seq: 1000, opts: [...optMss(1460), ...optFo()] });
    expect(h.one().optText).toBe('mss 1460');
  });
});
