// ByteView: the re-targetable window every header view extends (Ipv4View, Ipv6View, Ipv6FragView,
// Icmpv4View, Icmpv6View, UdpView, TcpView). One instance per stack, `wrap` per packet: nothing is
// allocated on the hot path.

/**
 * A window on buf[off, off + len). Offsets returned by subclass getters are absolute indexes into
 * `buf`. After the subclass's `check()` returns null every getter reads inside the window; before
 * that only `check()` is meaningful. Every `check()` starts with the same one-line guard,
 * `off >= 0 && len >= <header length> && off + len <= buf.length` (else 'truncated'); it is
 * written inline there because a shared method pushed V8 past its inlining budget on the IPv4+UDP
 * parse path (+15% ns/packet in `npm run bench`).
 */
export class ByteView {
  buf: Uint8Array;
  off: number;
  /** Bytes available from `off`; what they must cover is the subclass's contract. */
  len: number;

  constructor(buf?: Uint8Array, off = 0, len?: number) {
    this.buf = buf ?? new Uint8Array(0);
    this.off = off;
    this.len = len ?? this.buf.length - off;
  }

  wrap(buf: Uint8Array, off = 0, len = buf.length - off): this {
    this.buf = buf;
    this.off = off;
    this.len = len;
    return this;
  }
}
