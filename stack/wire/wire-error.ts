// WireError: why a header could not be parsed. One literal per distinct failure, so the caller can
// map each to its own drop counter (ipstat/tcpstat style). Parsers return these, never throw.

export type WireError =
  /** Fewer bytes than the fixed header or than a length field claims. */
  | 'truncated'
  /** IP version nibble is not the one expected (4 or 6). */
  | 'bad-version'
  /** IPv4 IHL < 5 or past the data; TCP data offset < 5 or past the segment. */
  | 'bad-header-len'
  /** IPv4 total length smaller than its own header. */
  | 'bad-total-len'
  /** Internet checksum does not verify (or a zero UDP checksum over IPv6, RFC 8200 §8.1). */
  | 'bad-checksum'
  /** A TCP option with a bad length or one that runs past the options area. */
  | 'bad-option'
  /** UDP length field smaller than 8 or larger than the datagram. */
  | 'bad-length'
  /** An IPv6 extension header in a place where it may not be (Hop-by-Hop not first). */
  | 'bad-ext-header'
  /** More IPv6 extension headers than we are willing to walk. */
  | 'too-many-ext-headers'
  /** A type or kind this codec does not know and cannot pass through. */
  | 'unknown-type';
