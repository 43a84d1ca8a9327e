// mbuf sizes, flags and types with Darwin's values (bsd/sys/mbuf.h, kpi_mbuf.h).
// MSIZE/MLEN/MHLEN are configuration-dependent in XNU; we model the classic LP64 "mcache" build
// (MSIZE 256, MLEN 224) and a 136-byte pkthdr area, and expose them through getters in kpi/.

export const MSIZE = 256;
/** Data bytes in a plain mbuf. */
export const MLEN = 224;
/** Data bytes in an mbuf that carries a packet header. */
export const MHLEN = 136;
/** Smallest amount worth a cluster (m_copyback and mbuf_allocpacket use it). */
export const MINCLSIZE = MLEN + MHLEN;
export const MCLBYTES = 2048;
export const MBIGCLBYTES = 4096;
export const M16KCLBYTES = 16384;
/** Not an XNU size: holds a whole 64 KB GSO super-packet from a TUN device with offloads. */
export const M64KCLBYTES = 65536;

export const CLUSTER_SIZES = [MCLBYTES, MBIGCLBYTES, M16KCLBYTES, M64KCLBYTES] as const;

// mbuf_flags_t
export const M_EXT = 0x0001;
export const M_PKTHDR = 0x0002;
export const M_EOR = 0x0004;
export const M_LOOP = 0x0040;
export const M_BCAST = 0x0100;
export const M_MCAST = 0x0200;
export const M_FRAG = 0x0400;
export const M_FIRSTFRAG = 0x0800;
export const M_LASTFRAG = 0x1000;
export const M_PROMISC = 0x2000;
export const M_HASFCS = 0x4000;

// mbuf_type_t
export const MT_FREE = 0;
export const MT_DATA = 1;
export const MT_HEADER = 2;
export const MT_SOCKET = 3;
export const MT_PCB = 4;
export const MT_SONAME = 8;
export const MT_SOOPTS = 10;
export const MT_CONTROL = 14;
export const MT_OOBDATA = 15;

// Packet-header checksum-offload flags (ours; modelled on virtio-net and XNU's CSUM_* bits).
/** The transport checksum was verified by the device (virtio VIRTIO_NET_HDR_F_DATA_VALID). */
export const CSUM_DATA_VALID = 0x0001;
/** The transport checksum must still be filled in by the device (VIRTIO_NET_HDR_F_NEEDS_CSUM). */
export const CSUM_NEEDS = 0x0002;

// Packet-header segmentation-offload types (virtio-net gso_type values).
export const GSO_NONE = 0;
export const GSO_TCPV4 = 1;
export const GSO_UDP = 3;
export const GSO_TCPV6 = 4;

/** `how` for allocations, as MBUF_WAITOK / MBUF_DONTWAIT. A userland pool never sleeps; the flag picks the errno. */
export const M_WAIT = 0;
export const M_DONTWAIT = 1;
