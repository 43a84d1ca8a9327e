// IP-header-level fuzzing: a valid upper-layer message (inner-payload.ts) in an IPv4 or IPv6
// header that is odd but acceptable (options, TTL/hop limit 0 and 1, reserved and evil bits, type
// of service, flow labels, harmless extension-header chains of hop-by-hop, destination-options,
// routing and atomic-fragment headers), or invalid in exactly one way whose drop counter the
// packet is then audited against: wrong header checksum, IHL below 5 or beyond the packet, total
// or payload length beyond the bytes, martian source addresses, groups we are not in, unknown
// protocols, "no next header", more than 16 extension headers, an extension header overrunning
// the packet. IPv6 option and routing-header actions that must answer with a parameter problem
// (RFC 8200 §4.2, §4.4) are generated too.

import type { GenCtx } from './gen-context.js';
import { ODD_ADDRS } from './gen-context.js';
import type { AuditName, FuzzPacket } from './fuzz-packet.js';
import { innerPayload, reseal } from './inner-payload.js';
import type { Inner } from './inner-payload.js';
import {
  concat, extHeader, fixIp4HeaderSum, fragHeader6, get16, ip4, ip6, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS,
  IPPROTO_NONE, IPPROTO_ROUTING, optionsBody, put16, wrongChecksum,
} from './wire-build.js';

export function genIp(g: GenCtx): FuzzPacket[] {
  const r = g.rng;
  const inner = innerPayload(g, 1100, r.chance(0.5) ? 4 : 6);
  return [inner.family === 4 ? ip4Variant(g, inner) : ip6Variant(g, inner)];
}

// ---- IPv4 ----

/** IPv4 options (RFC 791 §3.1), well formed or not. */
function ip4Options(g: GenCtx): Uint8Array {
  const r = g.rng;
  const route = (type: number): number[] => {
    const n = r.int(1, 9);
    const out = [type, 3 + 4 * n, r.pick([4, 5, 8, 3 + 4 * n + 1])];
    for (let i = 0; i < n; i++) out.push(...r.bytes(4));
    return out;
  };
  const one = (): number[] => r.weighted<() => number[]>([
    [10, () => [1]], [4, () => [0]],
    [10, () => route(7)], [8, () => route(131)], [8, () => route(137)],
    [8, () => [68, r.pick([4, 8, 12, 36, 40]), r.pick([5, 9, 13]), r.below(256), ...r.bytes(8)]],
    [6, () => [148, 4, 0, 0]],
    [4, () => [130, 11, ...r.bytes(9)]],
    [8, () => [r.pick([7, 68, 131, 137, 148]), r.pick([0, 1, 2, 41, 255])]],
    [8, () => [...r.bytes(r.int(1, 12))]],
  ])();
  const bytes: number[] = [];
  const n = r.int(1, 4);
  for (let i = 0; i < n; i++) bytes.push(...one());
  return Uint8Array.from(bytes.slice(0, 40));
}

function ip4Variant(g: GenCtx, inner: Inner): FuzzPacket {
  const r = g.rng;
  let src = inner.src, dst = inner.dst;
  let audit: AuditName | null = null;
  const flaw = r.weighted<string>([
    [30, 'none'], [8, 'badsum'], [6, 'totlen-long'], [5, 'totlen-short'], [4, 'totlen-tiny'], [4, 'ihl-small'],
    [4, 'ihl-big'], [7, 'src-martian'], [4, 'src-odd'], [6, 'dst-group'], [4, 'dst-bcast'], [5, 'proto'],
  ]);
  if (flaw === 'src-martian') { src = r.pick([ODD_ADDRS.V4.allHosts, ODD_ADDRS.V4.bcastAll, ODD_ADDRS.V4.loopback]); audit = 'ips_badaddr'; }
  if (flaw === 'src-odd') src = r.pick([ODD_ADDRS.V4.zero, ODD_ADDRS.V4.bcastSubnet, inner.dst]);
  if (flaw === 'dst-group') { dst = ODD_ADDRS.V4.otherGroup; audit = 'ips_notmember'; }
  if (flaw === 'dst-bcast') dst = r.pick([ODD_ADDRS.V4.bcastSubnet, ODD_ADDRS.V4.bcastAll, ODD_ADDRS.V4.allHosts]);
  let proto = inner.proto;
  let l4 = reseal(inner, src, dst);
  if (flaw === 'proto') {
    proto = r.pick([2, 4, 41, 47, 50, 51, 58, 89, 132, 253, 255]);
    l4 = r.bytes(r.below(200));
    audit = 'ips_noproto';
  }
  const options = r.chance(0.3) ? ip4Options(g) : undefined;
  const p = ip4({
    src, dst, proto, payload: l4, id: g.nextId(), ttl: r.pick([0, 1, 2, 64, 255]), tos: r.chance(0.2) ? r.below(256) : 0,
    df: r.chance(0.5), evil: r.chance(0.05), ...(options !== undefined ? { options } : {}),
  });
  const hl = (p[0]! & 0xf) * 4;
  switch (flaw) {
    case 'badsum': put16(p, 10, wrongChecksum(get16(p, 10), r.u32())); audit = 'ips_badsum'; break;
    case 'totlen-long': put16(p, 2, p.length + r.int(1, 1000)); fixIp4HeaderSum(p); audit = 'ips_tooshort'; break;
    case 'totlen-short': put16(p, 2, r.int(hl, p.length)); fixIp4HeaderSum(p); break;
    case 'totlen-tiny': put16(p, 2, r.below(hl)); fixIp4HeaderSum(p); audit = 'ips_badlen'; break;
    case 'ihl-small': p[0] = 0x40 | r.below(5); audit = 'ips_badhlen'; break;
    case 'ihl-big':
      if (p.length < 60) { p[0] = 0x40 | r.int(Math.ceil((p.length + 1) / 4), 15); audit = 'ips_badhlen'; }
      break;
  }
  return { to: inner.to, bytes: p, kind: `ip4/${flaw}/${inner.kind}`, audit, taints: inner.taint === null ? [] : [inner.taint] };
}

// ---- IPv6 ----

/** One option of a hop-by-hop or destination-options header (RFC 8200 §4.2), harmless or not. */
function ip6Option(g: GenCtx, harmless: boolean): number[] {
  const r = g.rng;
  const safe: (readonly [number, () => number[]])[] = [
    [10, () => [0]],
    [10, () => { const n = r.below(6); return [1, n, ...new Array<number>(n).fill(0)]; }],
    [6, () => [5, 2, 0, 0]],
    [8, () => { const n = r.below(8); return [r.int(6, 0x3f), n, ...r.bytes(n)]; }],
  ];
  if (harmless) return r.weighted(safe)();
  return r.weighted<() => number[]>([
    ...safe,
    [6, () => [0xc2, 4, ...r.bytes(4)]],
    [8, () => { const n = r.below(6); return [0x40 | r.below(0x40), n, ...r.bytes(n)]; }],
    [8, () => { const n = r.below(6); return [0x80 | r.below(0x40), n, ...r.bytes(n)]; }],
    [8, () => { const n = r.below(6); return [0xc0 | r.below(0x40), n, ...r.bytes(n)]; }],
    [6, () => [1, r.int(7, 255)]],
  ])();
}

function optionsHeader(g: GenCtx, nxt: number, harmless: boolean): Uint8Array {
  const opts: number[] = [];
  const n = g.rng.int(1, 3);
  for (let i = 0; i < n; i++) opts.push(...ip6Option(g, harmless));
  return extHeader(nxt, optionsBody(Uint8Array.from(opts.slice(0, 30))));
}

function routingHeader(g: GenCtx, nxt: number, harmless: boolean): Uint8Array {
  const r = g.rng;
  const segLeft = harmless ? 0 : r.pick([0, 1, 2, 255]);
  const addrs = r.below(3);
  return extHeader(nxt, concat([Uint8Array.of(r.pick([0, 2, 3, 4, 253]), segLeft, 0, 0, 0, 0), r.bytes(16 * addrs)]));
}

function ip6Variant(g: GenCtx, inner: Inner): FuzzPacket {
  const r = g.rng;
  let src = inner.src, dst = inner.dst;
  let audit: AuditName | null = null;
  const flaw = r.weighted<string>([
    [22, 'none'], [14, 'ext'], [8, 'ext-wild'], [4, 'hbh-late'], [5, 'toomany'], [5, 'nonext'], [5, 'ext-overrun'],
    [6, 'plen-long'], [5, 'plen-short'], [6, 'src-martian'], [3, 'src-odd'], [5, 'dst-group'], [3, 'dst-allnodes'],
    [5, 'proto'],
  ]);
  if (flaw === 'src-martian') { src = r.pick([ODD_ADDRS.V6.allNodes, ODD_ADDRS.V6.loopback]); audit = 'ip6s_badscope'; }
  if (flaw === 'src-odd') src = r.pick([ODD_ADDRS.V6.unspec, ODD_ADDRS.V6.linkLocal, ODD_ADDRS.V6.mapped, inner.dst]);
  if (flaw === 'dst-group') { dst = r.pick([ODD_ADDRS.V6.allRouters, ODD_ADDRS.V6.siteGroup]); audit = 'ip6s_notmember'; }
  if (flaw === 'dst-allnodes') dst = ODD_ADDRS.V6.allNodes;
  let nxt = inner.proto;
  let upper = reseal(inner, src, dst);
  if (flaw === 'proto') {
    nxt = r.pick([2, 4, 41, 47, 50, 51, 1, 89, 99, 132, 253, 255]);
    upper = r.bytes(r.below(200));
    audit = 'ip6s_noproto';
  }
  if (flaw === 'nonext') { nxt = IPPROTO_NONE; audit = 'ip6s_nonext'; }
  // The extension-header chain, built back to front.
  const chain: Uint8Array[] = [];
  const push = (make: (next: number) => Uint8Array, type: number): void => {
    chain.unshift(make(nxt));
    nxt = type;
  };
  const harmlessChain = (): void => {
    const n = r.int(1, 3);
    for (let i = n - 1; i >= 0; i--) {
      const t = r.pick(i === 0 ? [IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT] : [IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT]);
      if (t === IPPROTO_FRAGMENT) push((x) => fragHeader6(x, 0, false, r.u32()), t);
      else if (t === IPPROTO_ROUTING) push((x) => routingHeader(g, x, true), t);
      else push((x) => optionsHeader(g, x, true), t);
    }
  };
  switch (flaw) {
    case 'ext': case 'nonext': case 'proto': case 'plen-long': case 'plen-short':
      if (flaw === 'ext' || r.chance(0.3)) harmlessChain();
      break;
    case 'ext-wild': {
      const n = r.int(1, 4);
      for (let i = 0; i < n; i++) {
        const t = r.pick([IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING, IPPROTO_FRAGMENT]);
        if (t === IPPROTO_FRAGMENT) push((x) => fragHeader6(x, 0, false, r.u32(), r.below(256)), t);
        else if (t === IPPROTO_ROUTING) push((x) => routingHeader(g, x, false), t);
        else push((x) => optionsHeader(g, x, false), t);
      }
      break;
    }
    case 'hbh-late':
      push((x) => optionsHeader(g, x, true), IPPROTO_HOPOPTS);
      push((x) => optionsHeader(g, x, true), IPPROTO_DSTOPTS);
      break;
    case 'toomany':
      for (let i = 0; i < r.int(17, 24); i++) push((x) => extHeader(x, optionsBody(new Uint8Array(0))), IPPROTO_DSTOPTS);
      audit = 'ip6s_toomanyhdr';
      break;
    case 'ext-overrun':
      push((x) => extHeader(x, optionsBody(new Uint8Array(0)), r.int(20, 255)), r.pick([IPPROTO_HOPOPTS, IPPROTO_DSTOPTS, IPPROTO_ROUTING]));
      upper = new Uint8Array(0);
      audit = 'ip6s_tooshort';
      break;
  }
  const payload = concat([...chain, upper]);
  const p = ip6({
    src, dst, nxt, payload, hlim: r.pick([0, 1, 64, 255]), tclass: r.chance(0.2) ? r.below(256) : 0,
    flow: r.below(0x100000),
  });
  if (flaw === 'plen-long') { put16(p, 4, payload.length + r.int(1, 2000)); audit = 'ip6s_tooshort'; }
  if (flaw === 'plen-short') put16(p, 4, r.below(payload.length + 1));
  return { to: inner.to, bytes: p, kind: `ip6/${flaw}/${inner.kind}`, audit, taints: inner.taint === null ? [] : [inner.taint] };
}
