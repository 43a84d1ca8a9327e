// The CoreFoundation layer: CF object conventions (cf-base), CFData (cf-data), CFRunLoop
// (cf-runloop), CFSocket (cf-socket, native handles in native.ts). See README.md "CoreFoundation".
export * from './cf-base.js';
export * from './cf-data.js';
export * from './cf-runloop.js';
// >>> cfsocket exports
export * from './native.js';
export * from './cf-socket.js';
// <<< cfsocket exports
// >>> message-port exports (CFMessagePort: cfsocket/message-port*.ts)
export * from './message-port.js';
export * from './message-port-dispatch.js';
export { kCFMessagePortMaxNameBytes } from './message-port-name.js';
// <<< message-port exports
