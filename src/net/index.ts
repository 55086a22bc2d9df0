// Addresses as text: parsing, the IPv4-mapped folding, loopback, and network sets.
export * from './ip-address.js';
export * from './address-set.js';
