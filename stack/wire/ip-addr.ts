// IP addresses and prefixes as values. Used by wire Reprs, interfaces, routes and PCBs.
// Hot paths compare against packet bytes in place with `equalsBytes` instead of building IpAddr objects.

export type IpFamily = 4 | 6;

export class IpAddr {
  /** 4 bytes for IPv4, 16 for IPv6, network byte order. Never mutated after construction. */
  readonly bytes: Uint8Array;
  readonly family: IpFamily;

  private constructor(family: IpFamily, bytes: Uint8Array) {
    this.family = family;
    this.bytes = bytes;
  }

  static readonly ANY4 = IpAddr.fromV4Number(0);
  static readonly ANY6 = new IpAddr(6, new Uint8Array(16));
  static readonly BROADCAST4 = IpAddr.fromV4Number(0xffffffff);

  /** Copies `len` (4 or 16) bytes starting at `off`. */
  static fromBytes(buf: Uint8Array, off = 0, len: 4 | 16 = buf.length === 16 ? 16 : 4): IpAddr {
    return new IpAddr(len === 4 ? 4 : 6, buf.slice(off, off + len));
  }

  static fromV4Number(n: number): IpAddr {
    const b = new Uint8Array(4);
    b[0] = n >>> 24; b[1] = (n >>> 16) & 0xff; b[2] = (n >>> 8) & 0xff; b[3] = n & 0xff;
    return new IpAddr(4, b);
  }

  /** Parses dotted-quad IPv4 or RFC 4291 §2.2 text IPv6 (incl. `::` and an embedded IPv4 tail). */
  static parse(text: string): IpAddr | null {
    return text.includes(':') ? parseV6(text) : parseV4(text);
  }

  /** Like parse, but throws on bad input: for literals in tests and configuration, never for wire data. */
  static of(text: string): IpAddr {
    const a = IpAddr.parse(text);
    if (a === null) throw new Error(`not an IP address: ${text}`);
    return a;
  }

  /** IPv4 address as an unsigned 32-bit number (0 for IPv6). */
  get v4(): number {
    if (this.family !== 4) return 0;
    const b = this.bytes;
    return ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  /** All zero (0.0.0.0 or ::). A plain loop: this is on the per-packet output path. */
  get isUnspecified(): boolean {
    const b = this.bytes;
    for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
    return true;
  }
  get isMulticast(): boolean { return this.family === 4 ? (this.bytes[0]! & 0xf0) === 0xe0 : this.bytes[0] === 0xff; }
  get isLimitedBroadcast(): boolean { return this.family === 4 && this.v4 === 0xffffffff; }
  get isLoopback(): boolean {
    if (this.family === 4) return this.bytes[0] === 127;
    for (let i = 0; i < 15; i++) if (this.bytes[i] !== 0) return false;
    return this.bytes[15] === 1;
  }
  /** fe80::/10 */
  get isLinkLocal(): boolean { return this.family === 6 && this.bytes[0] === 0xfe && (this.bytes[1]! & 0xc0) === 0x80; }

  equals(o: IpAddr): boolean {
    return this.family === o.family && this.equalsBytes(o.bytes, 0);
  }

  /** Compares with the address stored in `buf` at `off` (as many bytes as this address has). */
  equalsBytes(buf: Uint8Array, off: number): boolean {
    const b = this.bytes;
    for (let i = 0; i < b.length; i++) if (b[i] !== buf[off + i]) return false;
    return true;
  }

  /** Writes the address bytes at `off` (a loop: cheaper than TypedArray.set for 4 or 16 bytes, per packet on output). */
  writeTo(buf: Uint8Array, off: number): void {
    const b = this.bytes;
    if (off < 0 || off + b.length > buf.length) throw new RangeError('offset is out of bounds');
    for (let i = 0; i < b.length; i++) buf[off + i] = b[i]!;
  }

  toString(): string {
    if (this.family === 4) return Array.from(this.bytes).join('.');
    return formatV6(this.bytes);
  }
}

function parseV4(text: string): IpAddr | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const b = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    b[i] = n;
  }
  return IpAddr.fromBytes(b, 0, 4);
}

function parseV6(text: string): IpAddr | null {
  const pct = text.indexOf('%');
  if (pct >= 0) text = text.slice(0, pct); // zone ids are not part of the address bytes
  const out = new Uint8Array(16);
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parseGroups = (s: string): number[] | null => {
    if (s === '') return [];
    const groups = s.split(':');
    const words: number[] = [];
    for (let i = 0; i < groups.length; i++) {
      const g = groups[i]!;
      if (i === groups.length - 1 && g.includes('.')) {
        const v4 = parseV4(g);
        if (!v4) return null;
        words.push((v4.bytes[0]! << 8) | v4.bytes[1]!, (v4.bytes[2]! << 8) | v4.bytes[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        words.push(parseInt(g, 16));
      }
    }
    return words;
  };
  const head = parseGroups(halves[0]!);
  const tail = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !tail) return null;
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) return null;
  const words = new Array<number>(8).fill(0);
  head.forEach((w, i) => { words[i] = w; });
  tail.forEach((w, i) => { words[8 - tail.length + i] = w; });
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return IpAddr.fromBytes(out, 0, 16);
}

/** RFC 5952 text: lowercase, longest run of two or more zero words compressed. */
function formatV6(b: Uint8Array): string {
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (ws: number[]) => ws.map((w) => w.toString(16)).join(':');
  if (bestStart < 0) return hex(words);
  return `${hex(words.slice(0, bestStart))}::${hex(words.slice(bestStart + bestLen))}`;
}

/** An address with a prefix length, as in `198.18.0.2/24`. */
export class IpCidr {
  constructor(readonly addr: IpAddr, readonly prefixLen: number) {}

  static parse(text: string): IpCidr | null {
    const slash = text.indexOf('/');
    const addr = IpAddr.parse(slash < 0 ? text : text.slice(0, slash));
    if (!addr) return null;
    const max = addr.family === 4 ? 32 : 128;
    const len = slash < 0 ? max : Number(text.slice(slash + 1));
    if (!Number.isInteger(len) || len < 0 || len > max) return null;
    return new IpCidr(addr, len);
  }

  static of(text: string): IpCidr {
    const c = IpCidr.parse(text);
    if (!c) throw new Error(`not a CIDR: ${text}`);
    return c;
  }

  /** True when `a` lies inside this prefix. */
  contains(a: IpAddr): boolean {
    return a.family === this.addr.family && this.containsBytes(a.bytes, 0);
  }

  /** Prefix match against an address stored in `buf` at `off` (same family as this prefix). */
  containsBytes(buf: Uint8Array, off: number): boolean {
    const p = this.addr.bytes;
    let bits = this.prefixLen;
    for (let i = 0; bits > 0; i++, bits -= 8) {
      const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
      if ((p[i]! & mask) !== (buf[off + i]! & mask)) return false;
    }
    return true;
  }

  /** The subnet-directed broadcast address (IPv4 only; null for IPv6 or /31, /32). */
  get broadcast(): IpAddr | null {
    if (this.addr.family !== 4 || this.prefixLen >= 31) return null;
    const host = this.prefixLen === 0 ? 0xffffffff : (0xffffffff >>> this.prefixLen);
    return IpAddr.fromV4Number((this.addr.v4 | host) >>> 0);
  }

  toString(): string { return `${this.addr.toString()}/${this.prefixLen}`; }
}
