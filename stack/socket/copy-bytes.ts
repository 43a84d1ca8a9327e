// Byte copies between caller iovecs and mbuf storage on the per-call paths of sosend/soreceive.
// `dst.set(src.subarray(...))` allocates a view per copy and costs more than a plain loop for
// the short copies of small messages; long copies still use set (memcpy).

/** Copies below this many bytes are done with a loop. */
const SMALL_COPY = 32;

/** Copies src[srcOff, srcOff + len) to dst at dstOff (the ranges must not overlap in one buffer). */
export function copyBytes(dst: Uint8Array, dstOff: number, src: Uint8Array, srcOff: number, len: number): void {
  if (len < SMALL_COPY) {
    for (let i = 0; i < len; i++) dst[dstOff + i] = src[srcOff + i]!;
  } else {
    dst.set(src.subarray(srcOff, srcOff + len), dstOff);
  }
}

/**
 * Copies src[srcOff, srcOff + len) into the iovec list `iov`, starting `pos` bytes into it (as if
 * the iovecs were one array). Bytes beyond the end of the list are not copied. No state is kept:
 * the position is found from `pos` (one step for the usual single iovec).
 */
export function copyToIov(iov: readonly Uint8Array[], pos: number, src: Uint8Array, srcOff: number, len: number): void {
  let i = 0;
  while (i < iov.length && pos >= iov[i]!.length) {
    pos -= iov[i]!.length;
    i++;
  }
  while (len > 0 && i < iov.length) {
    const v = iov[i]!;
    const n = Math.min(len, v.length - pos);
    copyBytes(v, pos, src, srcOff, n);
    srcOff += n;
    len -= n;
    pos = 0;
    i++;
  }
}
