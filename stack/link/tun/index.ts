// stack/link/tun: the Link over a Linux TUN device (our Node-API addon in native/), the kernel-side
// configuration with iproute2, and the one-line errors both produce. Not re-exported from
// stack/link/index.ts: importing it loads node:* modules, which the portable core must not need.
export { TunLink, TunStats, TUN_TSO_MAX_BYTES, isTunSlotMbuf } from './tun-link.js';
export type { TunLinkOptions } from './tun-link.js';
export { DeviceSetup, runIp, netnsExists, interfaceExists, validIfName } from './device-setup.js';
export type { HostConfig, IpRunner } from './device-setup.js';
export { TunError, TUN_UNAVAILABLE_CODES, describeOpenError } from './tun-errors.js';
export { loadTunAddon, TunAddonMissing } from './tun-native.js';
export * from './virtio-net-hdr.js';
