// The clock concept: version vectors, frontiers, and the pending set for causal delivery.
export * from './vv.js';
export * from './frontier.js';
export * from './pending.js';
