// The cache is shared by every format that serves per-package documents.
export * from '../package-cache.js';
