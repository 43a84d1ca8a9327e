// Operations on mbuf chains with BSD semantics (bsd/kern/uipc_mbuf.c), split by concern:
// chain-shape.ts (adj, prepend, pullup, pulldown, split, cat) and chain-copy.ts (copydata,
// copyback, copym, dup, byte-array helpers). Clusters are shared by reference by split and copym
// and never written while shared. Functions that can fail return null/false; kpi/ maps to errno.

export { mLength, mLast } from './chain-length.js';
export { mAdj, mPrepend, mPullup, mPulldown, mSplit, mCat, mCatPkt, mFixupPktLen } from './chain-shape.js';
export { mCopydata, mCopyback, mAppendBytes, mCopym, mDup, mFromBytes, mToBytes } from './chain-copy.js';
