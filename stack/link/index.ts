// stack/link: the Link contract and the links that need no kernel (memory pair, simulated
// network), the virtual-time driver and the pcapng tap.
export * from './link.js';
export * from './memory-pair.js';
export * from './sim-network.js';
export * from './simulation.js';
export * from './pcapng.js';
export { OffloadEngine } from './offload.js';
