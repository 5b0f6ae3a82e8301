// The datagram concept: schema, canonical encoding, CIDs, signatures, limits.
export * from './types.js';
export * from './limits.js';
export * from './errors.js';
export * from './entity.js';
export * from './codec.js';
export * from './sign.js';
export * from './author.js';
