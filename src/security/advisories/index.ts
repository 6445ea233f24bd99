/**
 * Security advisories: reading OSV records (and the Node.js security WG and rubysec formats,
 * converted to OSV) into plain `Advisory` objects, and deciding which versions they affect.
 * Pure: no database, no network. Storage and the `AdvisoryLookup` are built on top.
 */
export type { Advisory, AffectedPackage, AffectedRange, RangeEvent, EventKind, RangeType } from './types.js';
export { parseOsv, AdvisoryFormatError, OSV_LIMITS, type ParseOptions } from './osv.js';
export { isAffected, advisoryAffects, describeRanges, fixedVersions } from './match.js';
export { readAdvisories, readAdvisoryText, type ReadItem, type ReadOptions, type AdvisoryFormat } from './read.js';
export { DEFAULT_ZIP_LIMITS, type ZipLimits } from './zip.js';
export { normalizePackageName, splitEcosystem } from './ecosystems.js';
export { severityFromScore, severityFromWord, scoreCvssVector } from './severity.js';
