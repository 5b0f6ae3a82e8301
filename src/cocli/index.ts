// Public surface of the cocli codec: schema, slugs, data root, documents, tags.lst.

export * from './schema.js';
export * from './slug.js';
export * from './dataRoot.js';
export * from './document.js';
export * from './tags.js';
