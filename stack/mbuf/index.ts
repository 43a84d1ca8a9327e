export * from './constants.js';
export * from './mbuf.js';
export * from './pool.js';
export * from './chain.js';
