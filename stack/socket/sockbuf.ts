// The socket buffer (struct sockbuf, bsd/kern/uipc_socket2.c): a list of records linked by
// m_nextpkt, the mbufs of one record linked by m_next. A datagram record is
// [MT_SONAME][MT_CONTROL...][MT_DATA...]; TCP appends into one long record. sb_lastrecord (first
// mbuf of the last record) and sb_mbtail (last mbuf of all) make every append O(1).
//
// Accounting mirrors sballoc/sbfree: sb_cc counts the bytes of EVERY mbuf (address and control
// included, which is why FIONREAD exceeds the payload on a UDP socket), sb_ctl those of non-data
// mbufs, sb_mbcnt the storage (MSIZE per mbuf plus the cluster size of external storage).
//
// ingress: udp/udp.ts (sbappendaddr) · tcp input (sbappendstream) → here → so-receive.ts
// egress (TCP later): so-send.ts (sbappendstream on so_snd) → tcp output reads, sbdrop on ACK.

import type { Mbuf } from '../mbuf/mbuf.js';
import { mFreem } from '../mbuf/pool.js';
import { mLength } from '../mbuf/chain.js';
import { M_EOR, MCLBYTES, MSIZE, MT_DATA, MT_HEADER, MT_OOBDATA } from '../mbuf/constants.js';
import { SB_DROP, SB_EFFICIENCY, SB_MAX } from './constants.js';

/** True for the mbuf types sballoc counts as data (everything else also moves sb_ctl). */
const isDataType = (t: number): boolean => t === MT_DATA || t === MT_HEADER || t === MT_OOBDATA;

export class SockBuf {
  /** First mbuf of the first record. */
  sb_mb: Mbuf | null = null;
  /** Last mbuf of the last record (where sbappendstream links). */
  sb_mbtail: Mbuf | null = null;
  /** First mbuf of the last record (where sbappendrecord/sbappendaddr link). */
  sb_lastrecord: Mbuf | null = null;
  /** Bytes queued in all mbufs, address and control mbufs included. */
  sb_cc = 0;
  /** Bytes queued in non-data (MT_SONAME, MT_CONTROL) mbufs. */
  sb_ctl = 0;
  /** High-water mark: the buffer's size (SO_SNDBUF / SO_RCVBUF). */
  sb_hiwat = 0;
  /** Low-water mark (SO_SNDLOWAT / SO_RCVLOWAT). */
  sb_lowat = 0;
  /** Storage in use: MSIZE per mbuf plus each cluster's size. */
  sb_mbcnt = 0;
  /** Storage limit: min(hiwat × sb_efficiency, sb_max). */
  sb_mbmax = 0;
  /** SB_* flags (SB_UPCALL, SB_DROP, SB_USRSIZE, SB_AUTOSIZE...). */
  sb_flags = 0;
  /** Timeout of a blocking call on this buffer in microseconds (SO_SNDTIMEO/SO_RCVTIMEO); 0 = forever. */
  sb_timeo = 0;
  /** Size the user asked for with SO_SNDBUF/SO_RCVBUF (sb_idealsize). */
  sb_idealsize = 0;

  constructor(flags = 0) {
    this.sb_flags = flags;
  }

  /** sballoc: accounts for `m` joining the buffer. */
  sballoc(m: Mbuf): void {
    this.sb_cc += m.len;
    if (!isDataType(m.type)) this.sb_ctl += m.len;
    this.sb_mbcnt += MSIZE;
    if (m.ext !== null) this.sb_mbcnt += m.ext.size;
  }

  /** sbfree: accounts for `m` leaving the buffer. */
  sbfree(m: Mbuf): void {
    this.sb_cc -= m.len;
    if (!isDataType(m.type)) this.sb_ctl -= m.len;
    this.sb_mbcnt -= MSIZE;
    if (m.ext !== null) this.sb_mbcnt -= m.ext.size;
  }

  /** sbspace: min(hiwat - cc, mbmax - mbcnt), never negative. */
  sbspace(): number {
    const a = this.sb_hiwat - this.sb_cc;
    const b = this.sb_mbmax - this.sb_mbcnt;
    const s = a < b ? a : b;
    return s > 0 ? s : 0;
  }

  /**
   * sbreserve: sets the size to `cc`. False when cc exceeds sb_max (setsockopt turns that into
   * ENOBUFS). sb_mbmax becomes min(cc × 8, sb_max) as in XNU; a lowat above the new hiwat is lowered.
   */
  sbreserve(cc: number, sbMax = SB_MAX): boolean {
    if (cc > sbMax || cc < 0) return false;
    this.sb_hiwat = cc;
    const mbmax = cc * SB_EFFICIENCY;
    this.sb_mbmax = mbmax < sbMax ? mbmax : sbMax;
    if (this.sb_lowat > this.sb_hiwat) this.sb_lowat = this.sb_hiwat;
    return true;
  }

  /** sbrelease: frees everything and sets the size to 0. */
  sbrelease(): void {
    this.sbflush();
    this.sb_hiwat = 0;
    this.sb_mbmax = 0;
  }

  /**
   * sbappendstream: appends `m` (a chain) to the single record of a stream buffer. The mbufs
   * themselves are linked in (clusters are never copied); as sbcompress does, empty mbufs are
   * dropped and small inline data is folded into the tail's free room. Takes ownership of `m`;
   * false when the buffer refuses data (SB_DROP after shutdown(SHUT_RD)), the chain freed.
   */
  sbappendstream(m: Mbuf | null): boolean {
    if (m === null) return false;
    if ((this.sb_flags & SB_DROP) !== 0) {
      mFreem(m);
      return false;
    }
    m.nextpkt = null;
    this.compress(m, this.sb_mbtail);
    if (this.sb_lastrecord === null) this.sb_lastrecord = this.sb_mb;
    return true;
  }

  /**
   * sbappendrecord: appends the chain `m0` as a new record. Space is the caller's business (XNU:
   * callers check sbspace first). Takes ownership; false (chain freed) under SB_DROP.
   */
  sbappendrecord(m0: Mbuf | null): boolean {
    if (m0 === null) return false;
    if ((this.sb_flags & SB_DROP) !== 0) {
      mFreem(m0);
      return false;
    }
    this.linkRecord(m0);
    this.sballoc(m0);
    let m = m0.next;
    m0.next = null;
    if (m !== null && (m0.flags & M_EOR) !== 0) {
      m0.flags &= ~M_EOR;
      m.flags |= M_EOR;
    }
    this.sb_mbtail = m0;
    this.compress(m, m0);
    return true;
  }

  /**
   * sbappendaddr: appends the record [asa][control...][m0...] where `asa` is an MT_SONAME mbuf
   * holding the sender's sockaddr, `control` a chain of MT_CONTROL mbufs and `m0` the data (a
   * packet-header chain; may be null). Refused (false) when SB_DROP is set or when
   * sa_len + data + control bytes exceed sbspace(); then asa, m0 and control are freed, as XNU's
   * sbappendaddr does. The data mbufs are linked as they are: no copy.
   */
  sbappendaddr(asa: Mbuf, m0: Mbuf | null, control: Mbuf | null): boolean {
    let space = asa.len;
    if (m0 !== null) space += m0.hasPkthdr ? m0.pktLen : mLength(m0);
    let ctail: Mbuf | null = null;
    for (let n = control; n !== null; n = n.next) {
      space += n.len;
      ctail = n;
    }
    if ((this.sb_flags & SB_DROP) !== 0 || space > this.sbspace()) {
      mFreem(asa);
      mFreem(m0);
      mFreem(control);
      return false;
    }
    if (ctail !== null) ctail.next = m0;
    else control = m0;
    asa.next = control;
    let n: Mbuf = asa;
    for (;;) {
      n.nextpkt = null;
      this.sballoc(n);
      if (n.next === null) break;
      n = n.next;
    }
    this.linkRecord(asa);
    this.sb_mbtail = n;
    return true;
  }

  /**
   * sbdrop: removes `len` bytes from the front, crossing records (stream use: TCP acknowledged
   * data on so_snd). Emptied mbufs are freed; a partly consumed one is trimmed in place.
   */
  sbdrop(len: number): void {
    let m = this.sb_mb;
    let next = m !== null ? m.nextpkt : null;
    while (len > 0) {
      if (m === null) {
        if (next === null) break;
        m = next;
        next = m.nextpkt;
        continue;
      }
      if (m.len > len) {
        m.len -= len;
        m.data += len;
        if (m.hasPkthdr) m.pktLen -= len;
        this.sb_cc -= len;
        if (!isDataType(m.type)) this.sb_ctl -= len;
        break;
      }
      len -= m.len;
      this.sbfree(m);
      m = m.pool.free(m);
    }
    while (m !== null && m.len === 0) {
      this.sbfree(m);
      m = m.pool.free(m);
    }
    if (m !== null) {
      this.sb_mb = m;
      m.nextpkt = next;
    } else {
      this.sb_mb = next;
    }
    this.fixupFront();
  }

  /** sbdroprecord: frees the first record entirely. */
  sbdroprecord(): void {
    let m = this.sb_mb;
    if (m === null) return;
    this.sb_mb = m.nextpkt;
    while (m !== null) {
      this.sbfree(m);
      m = m.pool.free(m);
    }
    this.fixupFront();
  }

  /** sbflush: frees every record. */
  sbflush(): void {
    while (this.sb_mb !== null) this.sbdroprecord();
    this.sb_cc = 0;
    this.sb_ctl = 0;
    this.sb_mbcnt = 0;
  }

  /**
   * Unlinks the first mbuf of the first record (soreceive's "sbfree + move on") and returns it
   * detached (next and nextpkt cleared); the record continues with its second mbuf. The caller
   * frees it or hands it to the user. The buffer must not be empty.
   */
  sbunlinkFirst(): Mbuf {
    const m = this.sb_mb!;
    this.sbfree(m);
    const next = m.next;
    const nextrecord = m.nextpkt;
    if (next !== null) {
      next.nextpkt = nextrecord;
      this.sb_mb = next;
      if (this.sb_lastrecord === m) this.sb_lastrecord = next;
    } else {
      this.sb_mb = nextrecord;
    }
    m.next = null;
    m.nextpkt = null;
    this.fixupFront();
    return m;
  }

  /** Trims `len` bytes (less than its m_len) off the front of the first mbuf, in place. */
  sbtrimFirst(len: number): void {
    const m = this.sb_mb!;
    m.data += len;
    m.len -= len;
    if (m.hasPkthdr) m.pktLen -= len;
    this.sb_cc -= len;
    if (!isDataType(m.type)) this.sb_ctl -= len;
  }

  /** Number of records queued (SO_NUMRCVPKT walks them the same way). */
  recordCount(): number {
    let n = 0;
    for (let m = this.sb_mb; m !== null; m = m.nextpkt) n++;
    return n;
  }

  /** Data bytes of the first record (SO_NREAD on an atomic protocol). */
  firstRecordDataLen(): number {
    let n = 0;
    for (let m = this.sb_mb; m !== null; m = m.next) if (isDataType(m.type)) n += m.len;
    return n;
  }

  /**
   * Recomputes the accounting from the mbufs and checks the record pointers; returns a
   * description of the first inconsistency, or null. For tests and fuzzing, not the data path.
   */
  sbcheck(): string | null {
    let cc = 0, ctl = 0, mbcnt = 0;
    let lastrecord: Mbuf | null = null;
    let tail: Mbuf | null = null;
    for (let rec = this.sb_mb; rec !== null; rec = rec.nextpkt) {
      lastrecord = rec;
      for (let m: Mbuf | null = rec; m !== null; m = m.next) {
        if (m.freed) return 'freed mbuf in buffer';
        if (m !== rec && m.nextpkt !== null) return 'nextpkt set inside a record';
        cc += m.len;
        if (!isDataType(m.type)) ctl += m.len;
        mbcnt += MSIZE + (m.ext !== null ? m.ext.size : 0);
        tail = m;
      }
    }
    if (cc !== this.sb_cc) return `sb_cc ${this.sb_cc} != ${cc}`;
    if (ctl !== this.sb_ctl) return `sb_ctl ${this.sb_ctl} != ${ctl}`;
    if (mbcnt !== this.sb_mbcnt) return `sb_mbcnt ${this.sb_mbcnt} != ${mbcnt}`;
    if (lastrecord !== this.sb_lastrecord) return 'sb_lastrecord is not the last record';
    if (tail !== this.sb_mbtail) return 'sb_mbtail is not the last mbuf';
    return null;
  }

  /** Links `m0` as the last record. */
  private linkRecord(m0: Mbuf): void {
    m0.nextpkt = null;
    if (this.sb_lastrecord !== null) this.sb_lastrecord.nextpkt = m0;
    else this.sb_mb = m0;
    this.sb_lastrecord = m0;
  }

  /** After removing from the front: SB_EMPTY_FIXUP and the last-record pointer. */
  private fixupFront(): void {
    const mb = this.sb_mb;
    if (mb === null) {
      this.sb_lastrecord = null;
      this.sb_mbtail = null;
    } else if (mb.nextpkt === null) {
      this.sb_lastrecord = mb;
    }
  }

  /**
   * sbcompress: links the chain `m` after `n` (the tail of the last record; null when the buffer
   * is empty, then `m` starts the first record). Empty mbufs without M_EOR are freed; data of at
   * most MCLBYTES/4 that fits the tail's free room is copied there (only inline or unshared
   * storage is written); everything else is linked without copying.
   */
  private compress(m: Mbuf | null, n: Mbuf | null): void {
    while (m !== null) {
      const eor = m.flags & M_EOR;
      if (m.len === 0 && (eor === 0 || (n !== null && (n.flags & M_EOR) !== 0))) {
        m = m.pool.free(m);
        continue;
      }
      if (n !== null && (n.flags & M_EOR) === 0 && n.type === m.type && m.len <= MCLBYTES / 4 &&
          n.writable && m.len <= n.trailingSpace) {
        n.buf.set(m.buf.subarray(m.data, m.data + m.len), n.data + n.len);
        n.len += m.len;
        this.sb_cc += m.len;
        if (!isDataType(m.type)) this.sb_ctl += m.len;
        n.flags |= eor;
        m = m.pool.free(m);
        continue;
      }
      if (n !== null) {
        n.next = m;
        if (m.hasPkthdr) m.clearPkthdr();
      } else {
        this.sb_mb = m;
      }
      this.sb_mbtail = m;
      this.sballoc(m);
      n = m;
      m.flags &= ~M_EOR;
      m = m.next;
      n.next = null;
      n.flags |= eor;
    }
  }
}
