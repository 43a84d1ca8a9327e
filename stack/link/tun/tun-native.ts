// The typed face of our Node-API addon (stack/link/tun/native/tun.c, built by `npm install`
// through binding.gyp at the package root into build/Release/tunstack_tun.node). Only this file
// knows where the binary lives; tun-link.ts uses the functions below.
// JS ⇄ native: open() → start(shared buffers, onBatch) → onBatch(count, errno) per wakeup,
// write(count) per output batch → close().

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ctl[] layout shared with tun.c (keep in sync with its CTL_* defines). */
export const CTL_FREE_COUNT = 0;
export const CTL_TX_ERRNO = 1;
export const CTL_TX_ERRORS = 2;
export const CTL_RX_ERRNO = 3;
export const CTL_RX_WAKEUPS = 4;
export const CTL_FREE_BASE = 8;

/** TUNSETOFFLOAD bits (linux/if_tun.h). */
export const TUN_F_CSUM = 0x01;
export const TUN_F_TSO4 = 0x02;
export const TUN_F_TSO6 = 0x04;

export interface TunOpenResult {
  /** Opaque handle (an napi external) for the other calls. */
  readonly handle: object;
  /** The interface name the kernel gave the device. */
  readonly name: string;
  /** TUN_F_* bits TUNSETOFFLOAD accepted (0 when refused or not asked). */
  readonly offload: number;
}

export interface TunAddon {
  readonly VNET_HDR_LEN: number;
  /** Opens /dev/net/tun and creates or attaches `name`. Throws Error{code, errno, syscall}. */
  open(name: string, vnetHdr: boolean, offloadFlags: number): TunOpenResult;
  /** Starts readiness polling; onBatch(count, errno) is called once per wakeup that read something or failed. */
  start(
    handle: object, rx: ArrayBuffer, ctl: Int32Array, meta: Int32Array, tx: ArrayBuffer, txMeta: Int32Array,
    slotSize: number, ringSlots: number, batchMax: number, onBatch: (count: number, errno: number) => void,
  ): void;
  /** Writes txMeta[0..2*count) = (offset, length) pairs of tx; returns how many writes succeeded. */
  write(handle: object, count: number): number;
  /** Stops polling and closes the fd (a non-persistent device disappears with it). Idempotent. */
  close(handle: object): void;
}

/** Why the addon could not be loaded (not built, wrong platform), as a one-line message. */
export class TunAddonMissing extends Error {
  readonly code = 'ENOADDON';
}

/** The package root: the nearest folder above this file holding binding.gyp. */
function packageRoot(): string | null {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(dir, 'binding.gyp'))) return dir;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** Loads the addon (require caches it); returns the reason instead of throwing when it is missing. */
export function loadTunAddon(): TunAddon | TunAddonMissing {
  const root = packageRoot();
  const file = root === null ? null : join(root, 'build', 'Release', 'tunstack_tun.node');
  if (file === null || !existsSync(file)) {
    return new TunAddonMissing('the TUN addon is not built (build/Release/tunstack_tun.node is missing): run `npm install` (needs gcc, make and python3)');
  }
  try {
    return createRequire(import.meta.url)(file) as TunAddon;
  } catch (e) {
    return new TunAddonMissing(`the TUN addon failed to load (${(e as Error).message}): rebuild it with \`npm install\``);
  }
}
