// TCP options (RFC 9293 §3.2, RFC 7323 window scale and timestamps, RFC 2018 SACK, RFC 7413 Fast
// Open, RFC 8684 MPTCP kind 30 kept raw): parse into TcpOptions, scan allocation-free into
// TcpOptionsScratch, emit.

import { get16, get32, set16, set32 } from './bytes.js';
import type { Seq } from './seq.js';
import type { WireError } from './wire-error.js';

// Kinds and lengths (BSD <netinet/tcp.h> names).
export const TCPOPT_EOL = 0;
export const TCPOPT_NOP = 1;
export const TCPOPT_MAXSEG = 2;
export const TCPOPT_WINDOW = 3;
export const TCPOPT_SACK_PERMITTED = 4;
export const TCPOPT_SACK = 5;
export const TCPOPT_TIMESTAMP = 8;
export const TCPOPT_MPTCP = 30;
/** RFC 7413 §4.1.1 Fast Open cookie option; XNU <netinet/tcp.h> TCPOPT_FASTOPEN. */
export const TCPOPT_FASTOPEN = 34;
/**
 * The experimental Fast Open option of the pre-RFC drafts (kind 254 with the RFC 6994 magic 0xF989
 * after the length). XNU's tcp_dooptions does not know it (only kind 34), so it is not scanned: it
 * parses as an unknown option. Named for the drill runner's `FOEXP`.
 */
export const TCPOPT_FASTOPEN_EXP = 254;
export const TCPOPT_FASTOPEN_EXP_MAGIC = 0xf989;
export const TCPOLEN_MAXSEG = 4;
export const TCPOLEN_WINDOW = 3;
export const TCPOLEN_SACK_PERMITTED = 2;
export const TCPOLEN_SACK = 8;
export const TCPOLEN_TIMESTAMP = 10;
/** An empty Fast Open option: the cookie request (XNU TCPOLEN_FASTOPEN_REQ). */
export const TCPOLEN_FASTOPEN_REQ = 2;
/** RFC 7413 §4.1.1: a cookie has 4 to 16 bytes (XNU TFO_COOKIE_LEN_MIN / TFO_COOKIE_LEN_MAX). */
export const TFO_COOKIE_LEN_MIN = 4;
export const TFO_COOKIE_LEN_MAX = 16;
/** RFC 7323 §2.3: shift counts above 14 are treated as 14. */
export const TCP_MAX_WINSHIFT = 14;
/** RFC 2018 §3: at most 4 blocks fit in 40 bytes (3 alongside timestamps). */
export const TCP_MAX_SACK = 4;
/** Data offset is 4 bits of 32-bit words: 60-byte header, 40 bytes of options. */
export const MAX_TCPOPTLEN = 40;

export type SackBlock = readonly [left: Seq, right: Seq];

export interface TcpOptions {
  readonly mss?: number;
  /** Shift count, already clamped to 14 on parse. */
  readonly wscale?: number;
  /** The value on the wire, present only when it was above 14 and got clamped. */
  readonly wscaleRaw?: number;
  readonly sackPermitted?: boolean;
  /** 1..4 blocks [left edge, right edge). */
  readonly sack?: readonly SackBlock[];
  readonly timestamps?: { readonly tsVal: number; readonly tsEcr: number };
  /** Fast Open (kind 34): the cookie; empty for a cookie request. The last one in the list wins. */
  readonly fastOpen?: Uint8Array;
  /** MPTCP options (kind 30), each the whole option bytes incl. kind and length. */
  readonly mptcp?: readonly Uint8Array[];
  /** Other kinds; `data` excludes the kind and length bytes. */
  readonly unknown?: ReadonlyArray<{ readonly kind: number; readonly data: Uint8Array }>;
}

/**
 * Length of the option at buf[i] (options area ends at `end`): 0 for EOL (stop), 1 for NOP, the
 * length byte otherwise, or 'bad-option' when the length is impossible. RFC 9293 §3.2: options
 * other than EOL/NOP have a length octet that counts kind and length, so it must be >= 2 and stay
 * within the header; MSS, WS, SACK-permitted and TS have fixed lengths.
 */
function optionLen(buf: Uint8Array, i: number, end: number): number | 'bad-option' {
  const kind = buf[i]!;
  if (kind === TCPOPT_EOL) return 0;
  if (kind === TCPOPT_NOP) return 1;
  if (i + 2 > end) return 'bad-option';
  const l = buf[i + 1]!;
  if (l < 2 || i + l > end) return 'bad-option';
  switch (kind) {
    case TCPOPT_MAXSEG: return l === TCPOLEN_MAXSEG ? l : 'bad-option';
    case TCPOPT_WINDOW: return l === TCPOLEN_WINDOW ? l : 'bad-option';
    case TCPOPT_SACK_PERMITTED: return l === TCPOLEN_SACK_PERMITTED ? l : 'bad-option';
    case TCPOPT_TIMESTAMP: return l === TCPOLEN_TIMESTAMP ? l : 'bad-option';
    case TCPOPT_SACK: {
      const n = (l - 2) >>> 3;
      return (l - 2) % TCPOLEN_SACK === 0 && n >= 1 && n <= TCP_MAX_SACK ? l : 'bad-option';
    }
    // RFC 8684 §3: every MPTCP option carries a subtype after the length.
    case TCPOPT_MPTCP: return l >= 3 ? l : 'bad-option';
    default: return l;
  }
}

/** Parses the options area buf[off, off+len) into a fresh TcpOptions (copies MPTCP/unknown bytes). */
export function parseTcpOptions(buf: Uint8Array, off: number, len: number): TcpOptions | WireError {
  const o: {
    mss?: number; wscale?: number; wscaleRaw?: number; sackPermitted?: boolean; sack?: SackBlock[];
    timestamps?: { tsVal: number; tsEcr: number }; fastOpen?: Uint8Array; mptcp?: Uint8Array[];
    unknown?: Array<{ kind: number; data: Uint8Array }>;
  } = {};
  const end = Math.min(off + len, buf.length);
  for (let i = off; i < end;) {
    const l = optionLen(buf, i, end);
    if (l === 'bad-option') return l;
    if (l === 0) break;
    switch (buf[i]!) {
      case TCPOPT_NOP: break;
      case TCPOPT_MAXSEG: o.mss = get16(buf, i + 2); break;
      case TCPOPT_WINDOW: {
        const ws = buf[i + 2]!;
        o.wscale = Math.min(ws, TCP_MAX_WINSHIFT);
        if (ws > TCP_MAX_WINSHIFT) o.wscaleRaw = ws; else delete o.wscaleRaw;
        break;
      }
      case TCPOPT_SACK_PERMITTED: o.sackPermitted = true; break;
      case TCPOPT_TIMESTAMP: o.timestamps = { tsVal: get32(buf, i + 2), tsEcr: get32(buf, i + 6) }; break;
      case TCPOPT_SACK: {
        const blocks: SackBlock[] = [];
        for (let j = i + 2; j < i + l; j += 8) blocks.push([get32(buf, j), get32(buf, j + 4)]);
        o.sack = blocks;
        break;
      }
      case TCPOPT_FASTOPEN: o.fastOpen = buf.slice(i + 2, i + l); break;
      case TCPOPT_MPTCP: (o.mptcp ??= []).push(buf.slice(i, i + l)); break;
      default: (o.unknown ??= []).push({ kind: buf[i]!, data: buf.slice(i + 2, i + l) }); break;
    }
    i += l;
  }
  return o;
}

/** How many MPTCP options scanTcpOptions locates (more are counted, not located). */
export const TCP_MPTCP_SCAN_SLOTS = 4;

/** Mutable, reusable result of scanTcpOptions: one per stack, for the per-segment hot path. */
export class TcpOptionsScratch {
  /** -1 when absent. */
  mss = -1;
  /** Clamped shift count, -1 when absent. */
  wscale = -1;
  sackPermitted = false;
  tsPresent = false;
  tsVal = 0;
  tsEcr = 0;
  /** Blocks found; edges in sackBlocks[2k], sackBlocks[2k+1]. */
  sackCount = 0;
  readonly sackBlocks = new Uint32Array(2 * TCP_MAX_SACK);
  /** MPTCP options seen; the first TCP_MPTCP_SCAN_SLOTS are located by absolute offset (length at +1). */
  mptcpCount = 0;
  readonly mptcpOffsets = new Int32Array(TCP_MPTCP_SCAN_SLOTS);
  unknownCount = 0;
  /**
   * Fast Open (RFC 7413 §4.1.1), as XNU's tcp_dooptions records it: an empty option is a cookie
   * request (foReq); a 4..16-byte cookie is copied to foCookie[0, foCookieLen) (the last such
   * option wins; 0 = none); other lengths are ignored (XNU `continue`s over them).
   */
  foReq = false;
  foCookieLen = 0;
  readonly foCookie = new Uint8Array(TFO_COOKIE_LEN_MAX);

  reset(): this {
    this.mss = -1;
    this.wscale = -1;
    this.sackPermitted = false;
    this.tsPresent = false;
    this.tsVal = 0;
    this.tsEcr = 0;
    this.sackCount = 0;
    this.mptcpCount = 0;
    this.unknownCount = 0;
    this.foReq = false;
    this.foCookieLen = 0;
    return this;
  }
}

/** Like parseTcpOptions but fills `out` (reset first) and allocates nothing. */
export function scanTcpOptions(buf: Uint8Array, off: number, len: number, out: TcpOptionsScratch): WireError | null {
  out.reset();
  const end = Math.min(off + len, buf.length);
  for (let i = off; i < end;) {
    const l = optionLen(buf, i, end);
    if (l === 'bad-option') return l;
    if (l === 0) break;
    switch (buf[i]!) {
      case TCPOPT_NOP: break;
      case TCPOPT_MAXSEG: out.mss = get16(buf, i + 2); break;
      case TCPOPT_WINDOW: out.wscale = Math.min(buf[i + 2]!, TCP_MAX_WINSHIFT); break;
      case TCPOPT_SACK_PERMITTED: out.sackPermitted = true; break;
      case TCPOPT_TIMESTAMP:
        out.tsPresent = true;
        out.tsVal = get32(buf, i + 2);
        out.tsEcr = get32(buf, i + 6);
        break;
      case TCPOPT_SACK: {
        let k = 0;
        for (let j = i + 2; j < i + l; j += 8, k++) {
          out.sackBlocks[2 * k] = get32(buf, j);
          out.sackBlocks[2 * k + 1] = get32(buf, j + 4);
        }
        out.sackCount = k;
        break;
      }
      case TCPOPT_MPTCP:
        if (out.mptcpCount < TCP_MPTCP_SCAN_SLOTS) out.mptcpOffsets[out.mptcpCount] = i;
        out.mptcpCount++;
        break;
      case TCPOPT_FASTOPEN:
        if (l === TCPOLEN_FASTOPEN_REQ) out.foReq = true;
        else if (l - 2 >= TFO_COOKIE_LEN_MIN && l - 2 <= TFO_COOKIE_LEN_MAX) {
          out.foCookieLen = l - 2;
          for (let j = 0; j < l - 2; j++) out.foCookie[j] = buf[i + 2 + j]!;
        }
        break;
      default: out.unknownCount++; break;
    }
    i += l;
  }
  return null;
}

// ---- Emission ----
// Layout follows Linux/BSD so options stay 32-bit aligned: MSS; SACK_PERM+TS or NOP,NOP,TS or
// NOP,NOP,SACK_PERM; NOP,WS; Fast Open; NOP,NOP,SACK; MPTCP and unknown options as given;
// EOL/zero padding.

const lenMptcp = (o: TcpOptions, n: number): number => {
  let s = 0;
  for (let k = 0; k < n; k++) s += o.mptcp![k]!.length;
  return s;
};
const lenUnknown = (o: TcpOptions, n: number): number => {
  let s = 0;
  for (let k = 0; k < n; k++) s += 2 + o.unknown![k]!.data.length;
  return s;
};
const fixedLen = (o: TcpOptions): number =>
  (o.mss !== undefined ? 4 : 0)
  + (o.timestamps !== undefined ? 12 : o.sackPermitted ? 4 : 0)
  + (o.wscale !== undefined ? 4 : 0)
  + (o.fastOpen !== undefined ? 2 + o.fastOpen.length : 0);
const sackLen = (n: number): number => (n > 0 ? 4 + TCPOLEN_SACK * n : 0);
const pad4 = (n: number): number => (n + 3) & ~3;

/**
 * Chooses what fits in 40 bytes: drops SACK blocks from the end first (RFC 2018 §3 expects fewer
 * blocks beside timestamps), then unknown options, then MPTCP options, from the end.
 * Returns sackN + 8 * (mptcpN + 65536 * unknownN); counts are bounded by the input arrays.
 */
function plan(o: TcpOptions): number {
  const base = fixedLen(o);
  let sackN = Math.min(o.sack?.length ?? 0, TCP_MAX_SACK);
  let mptcpN = o.mptcp?.length ?? 0;
  let unknownN = o.unknown?.length ?? 0;
  let m = lenMptcp(o, mptcpN);
  let u = lenUnknown(o, unknownN);
  while (sackN > 0 && pad4(base + sackLen(sackN) + m + u) > MAX_TCPOPTLEN) sackN--;
  while (unknownN > 0 && pad4(base + sackLen(sackN) + m + u) > MAX_TCPOPTLEN) {
    unknownN--;
    u -= 2 + o.unknown![unknownN]!.data.length;
  }
  while (mptcpN > 0 && pad4(base + sackLen(sackN) + m + u) > MAX_TCPOPTLEN) {
    mptcpN--;
    m -= o.mptcp![mptcpN]!.length;
  }
  return sackN + 8 * (mptcpN + 65536 * unknownN);
}

function planLen(o: TcpOptions, p: number): number {
  const sackN = p % 8;
  const rest = Math.floor(p / 8);
  return pad4(fixedLen(o) + sackLen(sackN) + lenMptcp(o, rest % 65536) + lenUnknown(o, Math.floor(rest / 65536)));
}

/** Bytes emitTcpOptions will write: a multiple of 4, at most 40. */
export function tcpOptionsLen(o: TcpOptions): number {
  return planLen(o, plan(o));
}

/** Writes the options at buf[off]; returns the padded length (== tcpOptionsLen(o)). */
export function emitTcpOptions(o: TcpOptions, buf: Uint8Array, off: number): number {
  const p = plan(o);
  const sackN = p % 8;
  const rest = Math.floor(p / 8);
  const mptcpN = rest % 65536;
  const unknownN = Math.floor(rest / 65536);
  let i = off;
  if (o.mss !== undefined) {
    buf[i] = TCPOPT_MAXSEG; buf[i + 1] = TCPOLEN_MAXSEG; set16(buf, i + 2, o.mss); i += 4;
  }
  if (o.timestamps !== undefined) {
    if (o.sackPermitted) {
      buf[i] = TCPOPT_SACK_PERMITTED; buf[i + 1] = TCPOLEN_SACK_PERMITTED;
    } else {
      buf[i] = TCPOPT_NOP; buf[i + 1] = TCPOPT_NOP;
    }
    buf[i + 2] = TCPOPT_TIMESTAMP; buf[i + 3] = TCPOLEN_TIMESTAMP;
    set32(buf, i + 4, o.timestamps.tsVal);
    set32(buf, i + 8, o.timestamps.tsEcr);
    i += 12;
  } else if (o.sackPermitted) {
    buf[i] = TCPOPT_NOP; buf[i + 1] = TCPOPT_NOP; buf[i + 2] = TCPOPT_SACK_PERMITTED; buf[i + 3] = TCPOLEN_SACK_PERMITTED;
    i += 4;
  }
  if (o.wscale !== undefined) {
    buf[i] = TCPOPT_NOP; buf[i + 1] = TCPOPT_WINDOW; buf[i + 2] = TCPOLEN_WINDOW; buf[i + 3] = o.wscale; i += 4;
  }
  if (o.fastOpen !== undefined) {
    buf[i] = TCPOPT_FASTOPEN; buf[i + 1] = 2 + o.fastOpen.length;
    buf.set(o.fastOpen, i + 2);
    i += 2 + o.fastOpen.length;
  }
  if (sackN > 0) {
    buf[i] = TCPOPT_NOP; buf[i + 1] = TCPOPT_NOP; buf[i + 2] = TCPOPT_SACK; buf[i + 3] = 2 + TCPOLEN_SACK * sackN;
    i += 4;
    for (let k = 0; k < sackN; k++, i += 8) {
      const b = o.sack![k]!;
      set32(buf, i, b[0]);
      set32(buf, i + 4, b[1]);
    }
  }
  for (let k = 0; k < mptcpN; k++) {
    const m = o.mptcp![k]!;
    buf.set(m, i);
    i += m.length;
  }
  for (let k = 0; k < unknownN; k++) {
    const u = o.unknown![k]!;
    buf[i] = u.kind; buf[i + 1] = 2 + u.data.length;
    buf.set(u.data, i + 2);
    i += 2 + u.data.length;
  }
  // RFC 9293 §3.2: padding after the last option is zero, which also reads as End of Option List.
  const end = off + pad4(i - off);
  buf.fill(TCPOPT_EOL, i, end);
  return end - off;
}

/** tcpdump-style option list (in wire order), e.g. `mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7`. */
export function prettyTcpOptions(buf: Uint8Array, off: number, len: number): string {
  const parts: string[] = [];
  const end = Math.min(off + len, buf.length);
  for (let i = off; i < end;) {
    const l = optionLen(buf, i, end);
    if (l === 'bad-option') { parts.push('[bad opt]'); break; }
    if (l === 0) { parts.push('eol'); break; }
    switch (buf[i]!) {
      case TCPOPT_NOP: parts.push('nop'); break;
      case TCPOPT_MAXSEG: parts.push(`mss ${get16(buf, i + 2)}`); break;
      case TCPOPT_WINDOW: parts.push(`wscale ${buf[i + 2]}`); break;
      case TCPOPT_SACK_PERMITTED: parts.push('sackOK'); break;
      case TCPOPT_TIMESTAMP: parts.push(`TS val ${get32(buf, i + 2)} ecr ${get32(buf, i + 6)}`); break;
      case TCPOPT_SACK: {
        let s = `sack ${(l - 2) >>> 3} `;
        for (let j = i + 2; j < i + l; j += 8) s += `{${get32(buf, j)}:${get32(buf, j + 4)}}`;
        parts.push(s);
        break;
      }
      case TCPOPT_MPTCP: parts.push(`mptcp subtype ${buf[i + 2]! >>> 4} len ${l}`); break;
      case TCPOPT_FASTOPEN: {
        // tcpdump's wording: "tfo cookiereq" / "tfo cookie <hex>".
        let hex = '';
        for (let j = i + 2; j < i + l; j++) hex += buf[j]!.toString(16).padStart(2, '0');
        parts.push(l === TCPOLEN_FASTOPEN_REQ ? 'tfo cookiereq' : `tfo cookie ${hex}`);
        break;
      }
      default: parts.push(`opt-${buf[i]} len ${l}`); break;
    }
    i += l;
  }
  return parts.join(',');
}
