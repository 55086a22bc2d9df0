// Binding core: registry, procedures, policy and statistics of program 100000 (no sockets).
export * from './caller.js';
export * from './registry.js';
export * from './stats.js';
export * from './binding-state.js';
export * from './netconfig.js';
export * from './merge-address.js';
export { createRpcbindProgram, selfRegistrations } from './rpcbind-program.js';
export { protToNetid } from './procedures-v2.js';
export { isForwardingDenied } from './remote-call.js';
export * from './forward-rules.js';
export * from './access-policy.js';
export type { DenialReason, RegistrationEvent, SecurityObserver } from './security-events.js';
