/**
 * Tag numbers and flag bits of the RPM header format (rpmtag.h, rpmds.h, rpmfiles.h), only the
 * ones Stockade reads. Each number is checked against `rpm -qp --queryformat` in the tests.
 */

/** Entry data types of an RPM header index entry. */
export const RpmType = {
  NULL: 0,
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;
export type RpmTypeCode = (typeof RpmType)[keyof typeof RpmType];

export const RPM_TYPE_NAMES: Record<number, string> = Object.fromEntries(
  Object.entries(RpmType).map(([name, code]) => [code, name]),
);

/** Tags whose entry describes a header region (its data is a 16-byte trailer entry). */
export const RegionTag = {
  HEADERIMAGE: 61,
  HEADERSIGNATURES: 62,
  HEADERIMMUTABLE: 63,
} as const;

/** Tags of the signature header. Some reuse main-header numbers (rpm keeps them in sync). */
export const SigTag = {
  SIZE: 1000, // header + compressed payload, u32
  PGP: 1002, // RSA signature over header + payload
  MD5: 1004, // md5 over header + compressed payload, 16 bytes
  GPG: 1005, // DSA signature over header + payload
  PAYLOADSIZE: 1007, // uncompressed payload size
  RESERVEDSPACE: 1008,
  DSA: 267, // DSA signature over the header
  RSA: 268, // RSA signature over the header
  SHA1: 269, // hex sha1 over the main header
  LONGSIZE: 270, // SIZE as u64
  LONGARCHIVESIZE: 271,
  SHA256: 273, // hex sha256 over the main header
  OPENPGP: 278, // rpm 6 signatures
} as const;

/** Tags of the main header. */
export const Tag = {
  LONGARCHIVESIZE: 271, // uncompressed payload size as u64 (usually in the signature header)
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  DESCRIPTION: 1005,
  BUILDTIME: 1006,
  BUILDHOST: 1007,
  SIZE: 1009,
  DISTRIBUTION: 1010,
  VENDOR: 1011,
  LICENSE: 1014,
  PACKAGER: 1015,
  GROUP: 1016,
  URL: 1020,
  OS: 1021,
  ARCH: 1022,
  PREIN: 1023,
  POSTIN: 1024,
  PREUN: 1025,
  POSTUN: 1026,
  OLDFILENAMES: 1027,
  FILESIZES: 1028,
  FILEMODES: 1030,
  FILEDIGESTS: 1035, // FILEMD5S in older rpm
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  FILEUSERNAME: 1039,
  FILEGROUPNAME: 1040,
  SOURCERPM: 1044,
  ARCHIVESIZE: 1046,
  PROVIDENAME: 1047,
  REQUIREFLAGS: 1048,
  REQUIRENAME: 1049,
  REQUIREVERSION: 1050,
  CONFLICTFLAGS: 1053,
  CONFLICTNAME: 1054,
  CONFLICTVERSION: 1055,
  RPMVERSION: 1064,
  TRIGGERSCRIPTS: 1065,
  TRIGGERNAME: 1066,
  TRIGGERVERSION: 1067,
  TRIGGERFLAGS: 1068,
  TRIGGERINDEX: 1069,
  PREINPROG: 1085,
  POSTINPROG: 1086,
  PREUNPROG: 1087,
  POSTUNPROG: 1088,
  CHANGELOGTIME: 1080,
  CHANGELOGNAME: 1081,
  CHANGELOGTEXT: 1082,
  OBSOLETENAME: 1090,
  TRIGGERSCRIPTPROG: 1092,
  // File triggers run when files under a path prefix are installed or erased (rpm ≥ 4.13).
  FILETRIGGERSCRIPTS: 5066,
  FILETRIGGERSCRIPTPROG: 5067,
  FILETRIGGERNAME: 5069,
  FILETRIGGERINDEX: 5070,
  FILETRIGGERVERSION: 5071,
  FILETRIGGERFLAGS: 5072,
  TRANSFILETRIGGERSCRIPTS: 5076,
  TRANSFILETRIGGERSCRIPTPROG: 5077,
  TRANSFILETRIGGERNAME: 5079,
  TRANSFILETRIGGERINDEX: 5080,
  TRANSFILETRIGGERVERSION: 5081,
  TRANSFILETRIGGERFLAGS: 5082,
  SOURCEPACKAGE: 1106,
  PROVIDEFLAGS: 1112,
  PROVIDEVERSION: 1113,
  OBSOLETEFLAGS: 1114,
  OBSOLETEVERSION: 1115,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  PAYLOADFLAGS: 1126,
  PRETRANS: 1151,
  POSTTRANS: 1152,
  PRETRANSPROG: 1153,
  POSTTRANSPROG: 1154,
  LONGFILESIZES: 5008,
  LONGSIZE: 5009,
  FILEDIGESTALGO: 5011,
  RECOMMENDNAME: 5046,
  RECOMMENDVERSION: 5047,
  RECOMMENDFLAGS: 5048,
  SUGGESTNAME: 5049,
  SUGGESTVERSION: 5050,
  SUGGESTFLAGS: 5051,
  SUPPLEMENTNAME: 5052,
  SUPPLEMENTVERSION: 5053,
  SUPPLEMENTFLAGS: 5054,
  ENHANCENAME: 5055,
  ENHANCEVERSION: 5056,
  ENHANCEFLAGS: 5057,
  PAYLOADDIGEST: 5092,
  PAYLOADDIGESTALGO: 5093,
} as const;

/** Dependency flag bits (rpmsenseFlags). */
export const Sense = {
  LESS: 1 << 1,
  GREATER: 1 << 2,
  EQUAL: 1 << 3,
  POSTTRANS: 1 << 5,
  PREREQ: 1 << 6,
  PRETRANS: 1 << 7,
  INTERP: 1 << 8,
  SCRIPT_PRE: 1 << 9,
  SCRIPT_POST: 1 << 10,
  SCRIPT_PREUN: 1 << 11,
  SCRIPT_POSTUN: 1 << 12,
  TRIGGERIN: 1 << 16,
  TRIGGERUN: 1 << 17,
  TRIGGERPOSTUN: 1 << 18,
  MISSINGOK: 1 << 19,
  RPMLIB: 1 << 24,
  TRIGGERPREIN: 1 << 25,
  KEYRING: 1 << 26,
  CONFIG: 1 << 28,
} as const;

/** File flag bits (rpmfileAttrs). */
export const FileFlag = {
  CONFIG: 1 << 0,
  DOC: 1 << 1,
  MISSINGOK: 1 << 3,
  NOREPLACE: 1 << 4,
  GHOST: 1 << 6,
  LICENSE: 1 << 7,
  README: 1 << 8,
  ARTIFACT: 1 << 12,
} as const;

/** OpenPGP hash algorithm ids, as used by FILEDIGESTALGO and PAYLOADDIGESTALGO. */
export const DIGEST_ALGORITHMS: Record<number, string | undefined> = {
  1: 'md5',
  2: 'sha1',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
};
