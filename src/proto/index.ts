// Program 100000 on the wire (RFC 1833): its numbers, its structs (each encoder beside its
// decoder) and universal addresses. Shared by the binding core, the daemon, the client and rpcinfo.
export * from './constants.js';
export * from './rpcb-types.js';
export * from './uaddr.js';
