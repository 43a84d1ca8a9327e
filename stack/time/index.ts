export * from './instant.js';
export * from './clock.js';
export * from './timers.js';
