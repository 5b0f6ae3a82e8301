// The merge concept: folding datagrams into an entity's state, and the state into fields and a body.
export * from './state.js';
export * from './view.js';
export * from './diff.js';
