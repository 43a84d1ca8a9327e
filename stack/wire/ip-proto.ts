// IP protocol / IPv6 Next Header numbers (IANA "Assigned Internet Protocol Numbers"), BSD names.
// Shared by ipv4.ts, ipv6.ts and the demultiplexers in ip/.

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_IPV6 = 41;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_ICMPV6 = 58;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;

/** Short names for pretty printers, as tcpdump spells them. */
export function ipProtoName(p: number): string {
  switch (p) {
    case IPPROTO_HOPOPTS: return 'HBH';
    case IPPROTO_ICMP: return 'ICMP';
    case IPPROTO_TCP: return 'TCP';
    case IPPROTO_UDP: return 'UDP';
    case IPPROTO_IPV6: return 'IPv6';
    case IPPROTO_ROUTING: return 'Routing';
    case IPPROTO_FRAGMENT: return 'Fragment';
    case IPPROTO_ESP: return 'ESP';
    case IPPROTO_AH: return 'AH';
    case IPPROTO_ICMPV6: return 'ICMPv6';
    case IPPROTO_NONE: return 'NoNext';
    case IPPROTO_DSTOPTS: return 'DSTOPT';
    default: return `proto-${p}`;
  }
}
