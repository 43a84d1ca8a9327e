// TCP header (RFC 9293 §3.1): TcpView reads segments in place, TcpRepr is their meaning; options
// live in tcp-options.ts. ingress: ip/ip-input.ts → tcp/input.ts (wrap/check, scanOptions) → tcp/state.ts.

import { get16, get32, set16, set32 } from './bytes.js';
import { ByteView } from './byte-view.js';
import { l4Checksum } from './checksum.js';
import type { Seq } from './seq.js';
import {
  emitTcpOptions, parseTcpOptions, prettyTcpOptions, scanTcpOptions, tcpOptionsLen,
  type TcpOptions, type TcpOptionsScratch,
} from './tcp-options.js';
import { err, ok, type Result } from '../result.js';
import type { WireError } from './wire-error.js';

const F = {
  srcPort: 0, dstPort: 2, seq: 4, ack: 8, dataOff: 12, flags: 13, window: 14, checksum: 16, urgent: 18,
  options: 20,
} as const;

export const TCP_HEADER_LEN = 20;
/** Where the checksum sits, for code that fills or verifies it over an IP-derived length (offload). */
export const TCP_CHECKSUM_OFFSET = F.checksum;
export const TCP_MAX_HEADER_LEN = 60;

// Flag bits of header byte 13 (BSD <netinet/tcp.h> names).
export const TH_FIN = 0x01;
export const TH_SYN = 0x02;
export const TH_RST = 0x04;
export const TH_PUSH = 0x08;
export const TH_ACK = 0x10;
export const TH_URG = 0x20;
export const TH_ECE = 0x40;
export const TH_CWR = 0x80;

/**
 * Re-targetable window on a TCP segment; `len` is the segment length (IP payload length), so the
 * payload is everything after the header. After `check()` returns null every getter is in bounds.
 */
export class TcpView extends ByteView {
  check(): WireError | null {
    const { buf, off, len } = this;
    if (off < 0 || len < TCP_HEADER_LEN || off + len > buf.length) return 'truncated';
    // BSD tcp_input: tcps_rcvbadoff when off < sizeof(struct tcphdr) or off > tlen.
    const hlen = (buf[off + F.dataOff]! >>> 4) << 2;
    if (hlen < TCP_HEADER_LEN || hlen > len) return 'bad-header-len';
    return null;
  }

  /** `pseudoSum` from pseudoHeaderSum4/6 with protocol 6 and `this.len`. */
  verifyChecksum(pseudoSum: number): boolean { return l4Checksum(this.buf, this.off, this.len, pseudoSum) === 0; }
  fillChecksum(pseudoSum: number): void {
    set16(this.buf, this.off + F.checksum, 0);
    set16(this.buf, this.off + F.checksum, l4Checksum(this.buf, this.off, this.len, pseudoSum));
  }

  get srcPort(): number { return get16(this.buf, this.off + F.srcPort); }
  get dstPort(): number { return get16(this.buf, this.off + F.dstPort); }
  get seq(): Seq { return get32(this.buf, this.off + F.seq); }
  get ack(): Seq { return get32(this.buf, this.off + F.ack); }
  /** Data offset in 32-bit words. */
  get dataOffset(): number { return this.buf[this.off + F.dataOff]! >>> 4; }
  get headerLen(): number { return (this.buf[this.off + F.dataOff]! >>> 4) << 2; }
  /** Header byte 13: TH_* bits. */
  get flags(): number { return this.buf[this.off + F.flags]!; }
  get isFin(): boolean { return (this.flags & TH_FIN) !== 0; }
  get isSyn(): boolean { return (this.flags & TH_SYN) !== 0; }
  get isRst(): boolean { return (this.flags & TH_RST) !== 0; }
  get isPsh(): boolean { return (this.flags & TH_PUSH) !== 0; }
  get isAck(): boolean { return (this.flags & TH_ACK) !== 0; }
  get isUrg(): boolean { return (this.flags & TH_URG) !== 0; }
  get isEce(): boolean { return (this.flags & TH_ECE) !== 0; }
  get isCwr(): boolean { return (this.flags & TH_CWR) !== 0; }
  /** The unscaled window field. */
  get window(): number { return get16(this.buf, this.off + F.window); }
  get checksum(): number { return get16(this.buf, this.off + F.checksum); }
  get urgentPtr(): number { return get16(this.buf, this.off + F.urgent); }
  get optionsOffset(): number { return this.off + F.options; }
  get optionsLen(): number { return this.headerLen - TCP_HEADER_LEN; }
  get payloadOffset(): number { return this.off + this.headerLen; }
  get payloadLen(): number { return this.len - this.headerLen; }
  /** A subarray (no copy) of the payload. */
  payload(): Uint8Array { return this.buf.subarray(this.payloadOffset, this.off + this.len); }
  // In-place patches for segmentation offload; the checksum is not updated: call fillChecksum().
  setSeq(seq: Seq): void { set32(this.buf, this.off + F.seq, seq); }
  setFlags(flags: number): void { this.buf[this.off + F.flags] = flags; }

  /** Allocation-free option scan into a reusable scratch object. */
  scanOptions(out: TcpOptionsScratch): WireError | null {
    return scanTcpOptions(this.buf, this.optionsOffset, this.optionsLen, out);
  }
}

export interface TcpRepr {
  readonly srcPort: number;
  readonly dstPort: number;
  readonly seq: Seq;
  readonly ack: Seq;
  /** TH_* bits. */
  readonly flags: number;
  readonly window: number;
  readonly urgentPtr: number;
  readonly options: TcpOptions;
  readonly payloadLen: number;
}

/** Checks the view, verifies the checksum unless `pseudoSum` is null (offload), parses options. */
export function parseTcp(v: TcpView, pseudoSum: number | null): Result<TcpRepr, WireError> {
  const e = v.check();
  if (e !== null) return err(e);
  if (pseudoSum !== null && !v.verifyChecksum(pseudoSum)) return err('bad-checksum');
  const options = parseTcpOptions(v.buf, v.optionsOffset, v.optionsLen);
  if (typeof options === 'string') return err(options);
  return ok({
    srcPort: v.srcPort, dstPort: v.dstPort, seq: v.seq, ack: v.ack, flags: v.flags, window: v.window,
    urgentPtr: v.urgentPtr, options, payloadLen: v.payloadLen,
  });
}

export function tcpHeaderLen(r: TcpRepr): number {
  return TCP_HEADER_LEN + tcpOptionsLen(r.options);
}

/**
 * Writes header and options at buf[off] for a payload already at buf[off + tcpHeaderLen(r)];
 * returns the header length. With `pseudoSum` (over tcpHeaderLen(r) + r.payloadLen) the checksum
 * is filled, else left 0 (offload, or the caller sums an mbuf chain itself).
 */
export function emitTcp(r: TcpRepr, buf: Uint8Array, off: number, pseudoSum: number | null): number {
  set16(buf, off + F.srcPort, r.srcPort);
  set16(buf, off + F.dstPort, r.dstPort);
  set32(buf, off + F.seq, r.seq);
  set32(buf, off + F.ack, r.ack);
  const hlen = TCP_HEADER_LEN + emitTcpOptions(r.options, buf, off + F.options);
  buf[off + F.dataOff] = (hlen >>> 2) << 4;
  buf[off + F.flags] = r.flags;
  set16(buf, off + F.window, r.window);
  set16(buf, off + F.checksum, 0);
  set16(buf, off + F.urgent, r.urgentPtr);
  if (pseudoSum !== null) set16(buf, off + F.checksum, l4Checksum(buf, off, hlen + r.payloadLen, pseudoSum));
  return hlen;
}

/** tcpdump's flag letters, in tcpdump's order: `S.` for SYN-ACK, `FP.` for FIN-PSH-ACK. */
export function tcpFlagsString(flags: number): string {
  let s = '';
  if (flags & TH_FIN) s += 'F';
  if (flags & TH_SYN) s += 'S';
  if (flags & TH_RST) s += 'R';
  if (flags & TH_PUSH) s += 'P';
  if (flags & TH_ACK) s += '.';
  if (flags & TH_URG) s += 'U';
  if (flags & TH_ECE) s += 'E';
  if (flags & TH_CWR) s += 'W';
  return s === '' ? 'none' : s;
}

/**
 * tcpdump -S style (absolute sequence numbers):
 * `40000 > 80: Flags [S], seq 1000, win 64240, options [mss 1460,wscale 7], length 0`.
 */
export function prettyTcp(v: TcpView): string {
  const e = v.check();
  if (e !== null) return `TCP [${e}]`;
  const n = v.payloadLen;
  const f = v.flags;
  let s = `${v.srcPort} > ${v.dstPort}: Flags [${tcpFlagsString(f)}], seq ${v.seq}`;
  if (n > 0) s += `:${(v.seq + n) >>> 0}`;
  if (f & TH_ACK) s += `, ack ${v.ack}`;
  s += `, win ${v.window}`;
  if (f & TH_URG) s += `, urg ${v.urgentPtr}`;
  if (v.optionsLen > 0) s += `, options [${prettyTcpOptions(v.buf, v.optionsOffset, v.optionsLen)}]`;
  return `${s}, length ${n}`;
}
