// RPC layer: message codec, auth, record marking, protocol numbers.
export * from './constants.js';
export * from './auth.js';
export * from './rpc-message.js';
export * from './record-marking.js';
export * from './dispatcher.js';
export * from './caller.js';
