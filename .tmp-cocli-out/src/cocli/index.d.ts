export * from './schema.js';
export * from './slug.js';
export * from './dataRoot.js';
export * from './document.js';
export * from './tags.js';
