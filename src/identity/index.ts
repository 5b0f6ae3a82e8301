// The identity concept: a node's key, PeerID and config.
export * from './identity.js';
