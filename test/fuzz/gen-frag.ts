// Fragments for the fuzzer: a valid upper-layer message (inner-payload.ts) cut into IPv4
// fragments or IPv6 fragment headers (RFC 791 §3.2, RFC 8200 §4.5) and delivered in order,
// reversed, shuffled, duplicated, overlapping (IPv4 trims, IPv6 discards the datagram: RFC 5722),
// with a piece missing (never completed: the reassembly timer and ICMP time exceeded), in 8-byte
// pieces (more than a datagram may hold), with an offset that would build a datagram over 65535
// bytes (the ping of death: audited), a non-final piece whose length is not a multiple of 8, an
// empty piece, two different ends, first fragments of many datagrams at once (queue caps), and an
// IPv6 fragment inside a fragment.

import type { GenCtx } from './gen-context.js';
import type { AuditName, FuzzPacket } from './fuzz-packet.js';
import { innerPayload, reseal } from './inner-payload.js';
import type { Inner } from './inner-payload.js';
import { concat, extHeader, fragHeader6, ip4, ip6, IPPROTO_DSTOPTS, IPPROTO_FRAGMENT, IPPROTO_HOPOPTS, optionsBody } from './wire-build.js';

type Plan = 'inorder' | 'reverse' | 'shuffle' | 'dup' | 'overlap' | 'missing' | 'tiny' | 'huge-offset' | 'bad-mf-len'
  | 'zero-len' | 'two-ends' | 'many-ids' | 'first-only' | 'nested';

interface Piece { off: number; data: Uint8Array; more: boolean; id: number }

export function genFrag(g: GenCtx): FuzzPacket[] {
  const r = g.rng;
  const family = r.chance(0.5) ? 4 : 6;
  const plan = r.weighted<Plan>([
    [12, 'inorder'], [8, 'reverse'], [10, 'shuffle'], [8, 'dup'], [10, 'overlap'], [8, 'missing'], [5, 'tiny'],
    [6, 'huge-offset'], [5, 'bad-mf-len'], [4, 'zero-len'], [5, 'two-ends'], [4, 'many-ids'], [5, 'first-only'],
    [family === 6 ? 5 : 0, 'nested'],
  ]);
  const inner = innerPayload(g, plan === 'tiny' ? 600 : 2800, family);
  const whole = reseal(inner, inner.src, inner.dst);
  const data = plan === 'nested' ? concat([fragHeader6(inner.proto, 0, r.chance(0.5), r.u32()), whole]) : whole;
  // Piece size: 8 bytes for 'tiny' (more pieces than a datagram may have), else at most ~24 pieces.
  const minFs = 8 * Math.ceil(data.length / 24 / 8);
  const fs = plan === 'tiny' ? 8 : Math.max(minFs, r.pick([8, 16, 64, 256, 512, 1024, 1200, 8 * r.int(1, 150)]));
  const id = family === 4 ? r.below(0x10000) : r.u32();
  let pieces: Piece[] = [];
  for (let off = 0; off < data.length || off === 0; off += fs) {
    const end = Math.min(data.length, off + fs);
    pieces.push({ off, data: data.subarray(off, end), more: end < data.length, id });
    if (end >= data.length) break;
  }
  let audit: AuditName | null = null;
  const extra = (off: number, len: number, more: boolean): Piece => ({ off, data: r.bytes(len), more, id });
  switch (plan) {
    case 'reverse': pieces.reverse(); break;
    case 'shuffle': r.shuffle(pieces); break;
    case 'dup': {
      const n = r.int(1, 3);
      for (let i = 0; i < n; i++) pieces.splice(r.below(pieces.length + 1), 0, r.pick(pieces));
      break;
    }
    case 'overlap': {
      const off = 8 * r.below(Math.ceil(data.length / 8));
      const len = 8 * r.int(1, Math.max(1, Math.ceil(fs / 8) * 2));
      pieces.splice(r.below(pieces.length + 1), 0, extra(off, len, off + len < data.length || r.chance(0.5)));
      if (r.chance(0.5)) r.shuffle(pieces);
      break;
    }
    case 'missing': if (pieces.length > 1) pieces.splice(r.below(pieces.length), 1); else pieces[0]!.more = true; break;
    case 'huge-offset': {
      const off = 8 * r.int(8180, 8191);
      pieces.splice(r.below(pieces.length + 1), 0, extra(off, r.pick([8, 16, 64, 512]), r.chance(0.5)));
      audit = family === 4 ? 'ips_toolong' : 'ip6s_toolong';
      break;
    }
    case 'bad-mf-len': {
      const p = r.pick(pieces);
      pieces.push({ off: p.off, data: r.bytes(r.pick([1, 3, 7, 9, 13])), more: true, id });
      r.shuffle(pieces);
      break;
    }
    case 'zero-len': pieces.splice(r.below(pieces.length + 1), 0, extra(8 * r.below(64), 0, r.chance(0.7))); break;
    case 'two-ends': {
      const end = data.length + 8 * r.int(-4, 4);
      const off = Math.max(0, 8 * Math.floor((end - 8) / 8));
      pieces.splice(r.below(pieces.length + 1), 0, extra(off, Math.max(1, end - off), false));
      break;
    }
    case 'many-ids': {
      const n = r.int(10, 90);
      const firsts: Piece[] = [];
      for (let i = 0; i < n; i++) firsts.push({ off: 0, data: data.subarray(0, Math.min(data.length, 64)), more: true, id: (id + 1 + i) >>> 0 });
      pieces = firsts;
      break;
    }
    case 'first-only': pieces = [{ ...pieces[0]!, more: true }]; break;
  }
  const proto = plan === 'nested' ? IPPROTO_FRAGMENT : inner.proto;
  return pieces.map((p) => {
    const f = family === 4 ? frag4(g, inner, proto, p) : frag6(g, inner, proto, p);
    return {
      to: inner.to, bytes: f.bytes, kind: `frag${family}/${plan}/${inner.kind}`,
      // RFC 791 / RFC 8200 §4.5: a piece that would make the datagram larger than 65535 bytes.
      audit: audit !== null && f.tooLong ? audit : null,
      taints: inner.taint === null ? [] : [inner.taint],
    };
  });
}

interface Built { readonly bytes: Uint8Array; readonly tooLong: boolean }

function frag4(g: GenCtx, inner: Inner, proto: number, p: Piece): Built {
  const bytes = ip4({
    src: inner.src, dst: inner.dst, proto, payload: p.data, id: p.id & 0xffff, mf: p.more, fragOff: p.off,
    ttl: g.rng.pick([1, 64, 255]),
  });
  return { bytes, tooLong: 20 + p.off + p.data.length > 65535 };
}

function frag6(g: GenCtx, inner: Inner, proto: number, p: Piece): Built {
  const r = g.rng;
  // The unfragmentable part: sometimes a hop-by-hop and/or destination-options header first.
  const parts: Uint8Array[] = [];
  let nxt: number = IPPROTO_FRAGMENT;
  let unfrag = 0;
  if (r.chance(0.15)) { parts.unshift(extHeader(nxt, optionsBody(new Uint8Array(0)))); nxt = IPPROTO_DSTOPTS; unfrag += 8; }
  if (r.chance(0.15)) { parts.unshift(extHeader(nxt, optionsBody(new Uint8Array(0)))); nxt = IPPROTO_HOPOPTS; unfrag += 8; }
  parts.push(fragHeader6(proto, p.off, p.more, p.id));
  parts.push(p.data);
  const bytes = ip6({ src: inner.src, dst: inner.dst, nxt, payload: concat(parts), hlim: r.pick([1, 64, 255]) });
  return { bytes, tooLong: unfrag + p.off + p.data.length > 65535 };
}
