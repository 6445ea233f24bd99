import { createHash } from 'node:crypto';
import { StockadeError } from '../../errors.js';
import type { ContentView } from '../../security/types.js';
import { createContentView, DEFAULT_VIEW_BUDGET, type ViewBudget, type ViewEntryInput } from '../../security/view.js';
import { decompressPayload, readCpio, type PayloadCompressor, type PayloadLimits } from './cpio.js';
import { quoteValue, readRpmLayout, type HeaderLimits, type RpmHeader } from './header.js';
import { DIGEST_ALGORITHMS, FileFlag, Sense, SigTag, Tag } from './tags.js';

export type Comparison = 'EQ' | 'LT' | 'GT' | 'LE' | 'GE';

export interface RpmDependency {
  name: string;
  /** The version comparison, or null for an unversioned dependency. */
  flags: Comparison | null;
  /** Needed before the package's own scripts run (Requires(pre), rpmlib(), …): createrepo's pre="1". */
  pre: boolean;
  /** The raw rpmsenseFlags bits. */
  rawFlags: number;
  epoch: number | null;
  version: string | null;
  release: string | null;
}

export interface RpmFile {
  /** Absolute installed path, e.g. `/usr/bin/tool`. */
  path: string;
  mode: number;
  size: number;
  user: string | null;
  group: string | null;
  linkTarget: string | null;
  /** Hex digest in the package's file digest algorithm; null for non-regular files. */
  digest: string | null;
  flags: { config: boolean; doc: boolean; ghost: boolean; noreplace: boolean; missingOk: boolean; license: boolean; raw: number };
}

export interface RpmScript {
  body: string;
  /** The interpreter, e.g. `/bin/sh` or `<lua>`; arguments joined with spaces. */
  program: string | null;
}

export type TriggerEvent = 'prein' | 'in' | 'un' | 'postun';

export interface RpmTrigger {
  /** `package`: %trigger*; `file`: %filetrigger*; `transaction-file`: %transfiletrigger*. */
  scope: 'package' | 'file' | 'transaction-file';
  event: TriggerEvent;
  /** The packages (for file triggers, the path prefixes) whose install/erase fires the script. */
  conditions: RpmDependency[];
  body: string;
  program: string | null;
}

export interface RpmChangelogEntry {
  /** Seconds since the epoch (CHANGELOGTIME): rpm stores the day, at noon UTC. */
  time: number;
  /** The `*` line after the date, e.g. `Jane Doe <jane@example.test> - 1.0-1`. */
  author: string;
  text: string;
}

export interface RpmPackage {
  name: string;
  epoch: number | null;
  version: string;
  release: string;
  arch: string;
  os: string | null;
  summary: string | null;
  description: string | null;
  license: string | null;
  vendor: string | null;
  packager: string | null;
  url: string | null;
  group: string | null;
  buildHost: string | null;
  buildTime: number | null;
  /** Installed size in bytes (SIZE / LONGSIZE). */
  installedSize: number | null;
  /**
   * Uncompressed payload (cpio archive) size: LONGARCHIVESIZE / ARCHIVESIZE from the header, else
   * from the signature header (LONGARCHIVESIZE / PAYLOADSIZE), where rpm ≥ 4.14 keeps it.
   * Always set by parseRpm; optional only so hand-built packages (tests) need not name it.
   */
  archiveSize?: number | null;
  sourceRpm: string | null;
  /** rpm's own test: a package without a SOURCERPM is a source package. */
  isSource: boolean;
  provides: RpmDependency[];
  requires: RpmDependency[];
  conflicts: RpmDependency[];
  obsoletes: RpmDependency[];
  recommends: RpmDependency[];
  suggests: RpmDependency[];
  supplements: RpmDependency[];
  enhances: RpmDependency[];
  files: RpmFile[];
  /** Algorithm of `files[].digest` (md5 when the header does not say). */
  fileDigestAlgorithm: string;
  scripts: {
    pretrans: RpmScript | undefined;
    pre: RpmScript | undefined;
    post: RpmScript | undefined;
    preun: RpmScript | undefined;
    postun: RpmScript | undefined;
    posttrans: RpmScript | undefined;
  };
  triggers: RpmTrigger[];
  /**
   * The first `maxChangelogEntries` changelog entries in header order (rpm writes the newest
   * first), as createrepo's `--changelog-limit` (default 10) keeps them. Always set by parseRpm;
   * optional only so hand-built packages (tests) need not name it.
   */
  changelog?: RpmChangelogEntry[];
  payload: {
    format: string;
    compressor: string;
    flags: string | null;
    /** Offset of the compressed payload in the file. */
    offset: number;
    /** Declared digest of the compressed payload, verified by parseRpm. */
    digest: { algorithm: string; value: string } | null;
  };
  headerRange: { start: number; end: number };
  /** Whether the signature header carries an OpenPGP signature (not verified here). */
  signed: boolean;
  /** Digests from the signature header that parseRpm checked against the file. */
  verifiedDigests: string[];
  checksums: { sha256: string };
}

export interface RpmLimits extends HeaderLimits {
  /** Changelog entries kept, from the start of the header's list (createrepo_c's default limit). */
  maxChangelogEntries: number;
}

export const DEFAULT_CHANGELOG_ENTRIES = 10;

/**
 * Parses an RPM package written by anyone: lead, signature header, main header. Verifies the
 * signature header's digests (header SHA-256/SHA-1, header+payload MD5 and size) and the
 * header's payload digest. Every failure is a StockadeError (INVALID_ARCHIVE).
 */
export function parseRpm(data: Buffer, limits: Partial<RpmLimits> = {}): RpmPackage {
  const layout = readRpmLayout(data, limits);
  const { signature, header, headerRange, payloadOffset } = layout;
  const verifiedDigests = verifyDigests(data, signature, header, payloadOffset);

  const name = requiredString(header, Tag.NAME, 'NAME');
  const version = requiredString(header, Tag.VERSION, 'VERSION');
  const release = requiredString(header, Tag.RELEASE, 'RELEASE');
  const sourceRpm = header.string(Tag.SOURCERPM) ?? null;
  const compressor = header.string(Tag.PAYLOADCOMPRESSOR) ?? 'gzip';

  return {
    name,
    epoch: header.number(Tag.EPOCH) ?? null,
    version,
    release,
    arch: header.string(Tag.ARCH) ?? '',
    os: header.string(Tag.OS) ?? null,
    summary: header.string(Tag.SUMMARY) ?? null,
    description: header.string(Tag.DESCRIPTION) ?? null,
    license: header.string(Tag.LICENSE) ?? null,
    vendor: header.string(Tag.VENDOR) ?? null,
    packager: header.string(Tag.PACKAGER) ?? null,
    url: header.string(Tag.URL) ?? null,
    group: header.string(Tag.GROUP) ?? null,
    buildHost: header.string(Tag.BUILDHOST) ?? null,
    buildTime: header.number(Tag.BUILDTIME) ?? null,
    installedSize: header.number(Tag.LONGSIZE) ?? header.number(Tag.SIZE) ?? null,
    archiveSize:
      header.number(Tag.LONGARCHIVESIZE) ??
      header.number(Tag.ARCHIVESIZE) ??
      signature.number(SigTag.LONGARCHIVESIZE) ??
      signature.number(SigTag.PAYLOADSIZE) ??
      null,
    sourceRpm,
    isSource: sourceRpm === null,
    provides: dependencies(header, 'PROVIDE', Tag.PROVIDENAME, Tag.PROVIDEFLAGS, Tag.PROVIDEVERSION),
    requires: dependencies(header, 'REQUIRE', Tag.REQUIRENAME, Tag.REQUIREFLAGS, Tag.REQUIREVERSION),
    conflicts: dependencies(header, 'CONFLICT', Tag.CONFLICTNAME, Tag.CONFLICTFLAGS, Tag.CONFLICTVERSION),
    obsoletes: dependencies(header, 'OBSOLETE', Tag.OBSOLETENAME, Tag.OBSOLETEFLAGS, Tag.OBSOLETEVERSION),
    recommends: dependencies(header, 'RECOMMEND', Tag.RECOMMENDNAME, Tag.RECOMMENDFLAGS, Tag.RECOMMENDVERSION),
    suggests: dependencies(header, 'SUGGEST', Tag.SUGGESTNAME, Tag.SUGGESTFLAGS, Tag.SUGGESTVERSION),
    supplements: dependencies(header, 'SUPPLEMENT', Tag.SUPPLEMENTNAME, Tag.SUPPLEMENTFLAGS, Tag.SUPPLEMENTVERSION),
    enhances: dependencies(header, 'ENHANCE', Tag.ENHANCENAME, Tag.ENHANCEFLAGS, Tag.ENHANCEVERSION),
    files: fileList(header),
    fileDigestAlgorithm: digestAlgorithm(header.number(Tag.FILEDIGESTALGO) ?? 1, 'FILEDIGESTALGO'),
    scripts: {
      pretrans: script(header, Tag.PRETRANS, Tag.PRETRANSPROG),
      pre: script(header, Tag.PREIN, Tag.PREINPROG),
      post: script(header, Tag.POSTIN, Tag.POSTINPROG),
      preun: script(header, Tag.PREUN, Tag.PREUNPROG),
      postun: script(header, Tag.POSTUN, Tag.POSTUNPROG),
      posttrans: script(header, Tag.POSTTRANS, Tag.POSTTRANSPROG),
    },
    triggers: [...triggers(header, 'package'), ...triggers(header, 'file'), ...triggers(header, 'transaction-file')],
    changelog: changelog(header, limits.maxChangelogEntries ?? DEFAULT_CHANGELOG_ENTRIES),
    payload: {
      format: header.string(Tag.PAYLOADFORMAT) ?? 'cpio',
      compressor,
      flags: header.string(Tag.PAYLOADFLAGS) ?? null,
      offset: payloadOffset,
      digest: payloadDigest(header),
    },
    headerRange,
    signed: [SigTag.PGP, SigTag.GPG, SigTag.DSA, SigTag.RSA, SigTag.OPENPGP].some((tag) => signature.has(tag)),
    verifiedDigests,
    checksums: { sha256: createHash('sha256').update(data).digest('hex') },
  };
}

function requiredString(header: RpmHeader, tag: number, label: string): string {
  const value = header.string(tag);
  if (value === undefined || value === '') {
    throw new StockadeError('INVALID_ARCHIVE', [`the header has no ${label} (tag ${tag})`]);
  }
  return value;
}

function digestAlgorithm(id: number, label: string): string {
  const name = DIGEST_ALGORITHMS[id];
  if (name === undefined) throw new StockadeError('INVALID_ARCHIVE', [`unknown digest algorithm ${id} in ${label}`]);
  return name;
}

function payloadDigest(header: RpmHeader): { algorithm: string; value: string } | null {
  const value = header.strings(Tag.PAYLOADDIGEST)?.[0];
  if (value === undefined) return null;
  return { algorithm: digestAlgorithm(header.number(Tag.PAYLOADDIGESTALGO) ?? 8, 'PAYLOADDIGESTALGO'), value: value.toLowerCase() };
}

function hash(algorithm: string, data: Buffer): string {
  return createHash(algorithm).update(data).digest('hex');
}

/** Checks what the signature header and the header declare about the file's bytes. */
function verifyDigests(data: Buffer, signature: RpmHeader, header: RpmHeader, payloadOffset: number): string[] {
  const verified: string[] = [];
  const headerBytes = data.subarray(header.start, header.end);
  const headerAndPayload = data.subarray(header.start);

  const declaredSize = signature.number(SigTag.LONGSIZE) ?? signature.number(SigTag.SIZE);
  if (declaredSize !== undefined) {
    if (declaredSize !== headerAndPayload.length) {
      throw new StockadeError('INVALID_ARCHIVE', [
        `size mismatch: the signature header declares ${declaredSize} bytes of header and payload, the file has ${headerAndPayload.length}`,
      ]);
    }
    verified.push('size');
  }
  const headerDigests: [number, string, string][] = [
    [SigTag.SHA256, 'sha256', 'SHA-256'],
    [SigTag.SHA1, 'sha1', 'SHA-1'],
  ];
  for (const [tag, algorithm, label] of headerDigests) {
    const declared = signature.string(tag);
    if (declared === undefined) continue;
    if (declared.toLowerCase() !== hash(algorithm, headerBytes)) {
      throw new StockadeError('INVALID_ARCHIVE', [`header digest mismatch (${label} in the signature header)`]);
    }
    verified.push(`header-${algorithm}`);
  }
  // The payload digest goes first: it names the damaged part more precisely than MD5 does.
  const payload = payloadDigest(header);
  if (payload !== null) {
    if (payload.value !== hash(payload.algorithm, data.subarray(payloadOffset))) {
      throw new StockadeError('INVALID_ARCHIVE', [`payload digest mismatch (${payload.algorithm} in PAYLOADDIGEST)`]);
    }
    verified.push(`payload-${payload.algorithm}`);
  }
  const md5 = signature.bytes(SigTag.MD5);
  if (md5 !== undefined) {
    if (md5.toString('hex') !== hash('md5', headerAndPayload)) {
      throw new StockadeError('INVALID_ARCHIVE', ['header and payload digest mismatch (MD5 in the signature header)']);
    }
    verified.push('md5');
  }
  return verified;
}

/** rpm's parseEVR: an all-digit prefix before `:` is the epoch, the text after the last `-` the release. */
export function parseEvr(evr: string): { epoch: number | null; version: string | null; release: string | null } {
  if (evr === '') return { epoch: null, version: null, release: null };
  let rest = evr;
  let epoch: number | null = null;
  const match = /^(\d*):/.exec(rest);
  if (match) {
    epoch = match[1] === '' ? 0 : Number(match[1]);
    rest = rest.slice(match[0].length);
  }
  const dash = rest.lastIndexOf('-');
  if (dash === -1) return { epoch, version: rest, release: null };
  return { epoch, version: rest.slice(0, dash), release: rest.slice(dash + 1) };
}

const COMPARISONS: Record<number, Comparison | undefined> = {
  [Sense.EQUAL]: 'EQ',
  [Sense.LESS]: 'LT',
  [Sense.GREATER]: 'GT',
  [Sense.LESS | Sense.EQUAL]: 'LE',
  [Sense.GREATER | Sense.EQUAL]: 'GE',
};
const INSTALL_ONLY = Sense.PRETRANS | Sense.SCRIPT_PRE | Sense.SCRIPT_POST | Sense.RPMLIB | Sense.KEYRING;

function dependency(name: string, rawFlags: number, evr: string): RpmDependency {
  const sense = rawFlags & (Sense.LESS | Sense.GREATER | Sense.EQUAL);
  return {
    name,
    flags: COMPARISONS[sense] ?? null,
    pre: (rawFlags & INSTALL_ONLY) !== 0 || (rawFlags & Sense.PREREQ) !== 0,
    rawFlags,
    ...parseEvr(evr),
  };
}

function sameLength(label: string, expected: number, values: unknown[] | undefined, what: string): void {
  if (values !== undefined && values.length !== expected) {
    throw new StockadeError('INVALID_ARCHIVE', [`${label} lists ${expected} entries but ${what} has ${values.length}`]);
  }
}

function dependencies(header: RpmHeader, label: string, nameTag: number, flagsTag: number, versionTag: number): RpmDependency[] {
  const names = header.strings(nameTag);
  if (names === undefined) return [];
  const flags = header.numbers(flagsTag);
  const versions = header.strings(versionTag);
  sameLength(`${label}NAME`, names.length, flags, `${label}FLAGS`);
  sameLength(`${label}NAME`, names.length, versions, `${label}VERSION`);
  return names.map((name, i) => dependency(name, flags?.[i] ?? 0, versions?.[i] ?? ''));
}

function fileList(header: RpmHeader): RpmFile[] {
  const paths = filePaths(header);
  const count = paths.length;
  const perFile = <T>(values: T[] | undefined, label: string): T[] | undefined => {
    sameLength('the file list', count, values, label);
    return values;
  };
  const modes = perFile(header.numbers(Tag.FILEMODES), 'FILEMODES');
  const sizes = perFile(header.numbers(Tag.LONGFILESIZES) ?? header.numbers(Tag.FILESIZES), 'FILESIZES');
  const users = perFile(header.strings(Tag.FILEUSERNAME), 'FILEUSERNAME');
  const groups = perFile(header.strings(Tag.FILEGROUPNAME), 'FILEGROUPNAME');
  const links = perFile(header.strings(Tag.FILELINKTOS), 'FILELINKTOS');
  const digests = perFile(header.strings(Tag.FILEDIGESTS), 'FILEDIGESTS');
  const flags = perFile(header.numbers(Tag.FILEFLAGS), 'FILEFLAGS');
  return paths.map((path, i) => {
    const raw = flags?.[i] ?? 0;
    return {
      path,
      mode: modes?.[i] ?? 0,
      size: sizes?.[i] ?? 0,
      user: users?.[i] ?? null,
      group: groups?.[i] ?? null,
      linkTarget: links?.[i] || null,
      digest: digests?.[i]?.toLowerCase() || null,
      flags: {
        config: (raw & FileFlag.CONFIG) !== 0,
        doc: (raw & FileFlag.DOC) !== 0,
        ghost: (raw & FileFlag.GHOST) !== 0,
        noreplace: (raw & FileFlag.NOREPLACE) !== 0,
        missingOk: (raw & FileFlag.MISSINGOK) !== 0,
        license: (raw & FileFlag.LICENSE) !== 0,
        raw,
      },
    };
  });
}

/** Compressed file names (BASENAMES + DIRNAMES[DIRINDEXES]) or, in old packages, OLDFILENAMES. */
function filePaths(header: RpmHeader): string[] {
  const basenames = header.strings(Tag.BASENAMES);
  if (basenames === undefined) return header.strings(Tag.OLDFILENAMES) ?? [];
  const dirnames = header.strings(Tag.DIRNAMES) ?? [];
  const dirindexes = header.numbers(Tag.DIRINDEXES);
  sameLength('BASENAMES', basenames.length, dirindexes ?? [], 'DIRINDEXES');
  return basenames.map((base, i) => {
    const dir = dirnames[dirindexes?.[i] ?? -1];
    if (dir === undefined) {
      throw new StockadeError('INVALID_ARCHIVE', [`file ${quoteValue(base)} points to directory index ${dirindexes?.[i]}, past DIRNAMES`]);
    }
    return dir + base;
  });
}

function program(header: RpmHeader, tag: number): string | null {
  const parts = header.strings(tag);
  return parts === undefined || parts.length === 0 ? null : parts.join(' ');
}

function script(header: RpmHeader, bodyTag: number, programTag: number): RpmScript | undefined {
  const body = header.string(bodyTag);
  const interpreter = program(header, programTag);
  if (body === undefined && interpreter === null) return undefined;
  return { body: body ?? '', program: interpreter };
}

function triggerEvent(flags: number): TriggerEvent | undefined {
  if (flags & Sense.TRIGGERPREIN) return 'prein';
  if (flags & Sense.TRIGGERIN) return 'in';
  if (flags & Sense.TRIGGERUN) return 'un';
  if (flags & Sense.TRIGGERPOSTUN) return 'postun';
  return undefined;
}

const TRIGGER_TAGS = {
  package: { prefix: 'TRIGGER', scripts: Tag.TRIGGERSCRIPTS, programs: Tag.TRIGGERSCRIPTPROG, names: Tag.TRIGGERNAME, flags: Tag.TRIGGERFLAGS, versions: Tag.TRIGGERVERSION, indexes: Tag.TRIGGERINDEX },
  file: { prefix: 'FILETRIGGER', scripts: Tag.FILETRIGGERSCRIPTS, programs: Tag.FILETRIGGERSCRIPTPROG, names: Tag.FILETRIGGERNAME, flags: Tag.FILETRIGGERFLAGS, versions: Tag.FILETRIGGERVERSION, indexes: Tag.FILETRIGGERINDEX },
  'transaction-file': {
    prefix: 'TRANSFILETRIGGER',
    scripts: Tag.TRANSFILETRIGGERSCRIPTS,
    programs: Tag.TRANSFILETRIGGERSCRIPTPROG,
    names: Tag.TRANSFILETRIGGERNAME,
    flags: Tag.TRANSFILETRIGGERFLAGS,
    versions: Tag.TRANSFILETRIGGERVERSION,
    indexes: Tag.TRANSFILETRIGGERINDEX,
  },
} as const;

/** Trigger scripts and what fires them; file triggers are laid out like package triggers. */
function triggers(header: RpmHeader, scope: RpmTrigger['scope']): RpmTrigger[] {
  const tags = TRIGGER_TAGS[scope];
  const label = (what: string) => `${tags.prefix}${what}`;
  const bodies = header.strings(tags.scripts) ?? [];
  const programs = header.strings(tags.programs);
  sameLength(label('SCRIPTS'), bodies.length, programs, label('SCRIPTPROG'));
  const names = header.strings(tags.names) ?? [];
  const flags = header.numbers(tags.flags);
  const versions = header.strings(tags.versions);
  const indexes = header.numbers(tags.indexes);
  sameLength(label('NAME'), names.length, flags, label('FLAGS'));
  sameLength(label('NAME'), names.length, versions, label('VERSION'));
  sameLength(label('NAME'), names.length, indexes ?? [], label('INDEX'));
  const result: RpmTrigger[] = bodies.map((body, i) => ({ scope, event: 'in', conditions: [], body, program: programs?.[i] ?? null }));
  names.forEach((name, i) => {
    const index = indexes?.[i] ?? -1;
    const trigger = result[index];
    if (trigger === undefined) {
      throw new StockadeError('INVALID_ARCHIVE', [`trigger on ${quoteValue(name)} points to script ${index}, past ${label('SCRIPTS')}`]);
    }
    const raw = flags?.[i] ?? 0;
    const event = triggerEvent(raw);
    if (event === undefined) {
      throw new StockadeError('INVALID_ARCHIVE', [`trigger on ${quoteValue(name)} has no trigger type in its flags (${raw})`]);
    }
    trigger.event = event;
    trigger.conditions.push(dependency(name, raw, versions?.[i] ?? ''));
  });
  return result;
}

/**
 * Changelog entries are informational: arrays of different lengths are cut to the shortest (as
 * createrepo_c does) instead of refusing the package. Memory stays bounded by the header limits.
 */
function changelog(header: RpmHeader, max: number): RpmChangelogEntry[] {
  const times = header.numbers(Tag.CHANGELOGTIME);
  if (times === undefined || max <= 0) return [];
  const names = header.strings(Tag.CHANGELOGNAME) ?? [];
  const texts = header.strings(Tag.CHANGELOGTEXT) ?? [];
  const count = Math.min(times.length, names.length, texts.length, max);
  const entries: RpmChangelogEntry[] = [];
  for (let i = 0; i < count; i++) entries.push({ time: times[i] ?? 0, author: names[i] ?? '', text: texts[i] ?? '' });
  return entries;
}

export interface PayloadEntry {
  /** Installed path, absolute as in `RpmPackage.files`. */
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'special';
  mode: number;
  size: number;
  linkTarget?: string;
}

export interface RpmPayloadContents {
  entries: PayloadEntry[];
  /** What the security gate scans: paths without the leading `/`, bodies within the budget. */
  view: ContentView;
}

export interface ReadPayloadOptions {
  limits?: Partial<PayloadLimits>;
  view?: Partial<ViewBudget>;
}

const SUPPORTED_COMPRESSORS: Record<string, PayloadCompressor | undefined> = { gzip: 'gzip', xz: 'xz', zstd: 'zstd' };

/**
 * Decompresses and reads the payload of a package `parseRpm` accepted, within the budget
 * (UNSAFE_ARCHIVE beyond it). Every payload entry must be a file the header lists, with the
 * same file type: rpm installs by the header, so the gate must see what rpm would install.
 * Async because the xz decoder is a WebAssembly stream.
 */
export async function readRpmPayload(data: Buffer, pkg: RpmPackage, options: ReadPayloadOptions = {}): Promise<RpmPayloadContents> {
  if (pkg.payload.format !== 'cpio') {
    throw new StockadeError('INVALID_ARCHIVE', [`unsupported payload format ${quoteValue(pkg.payload.format)} (cpio expected)`]);
  }
  const compressor = SUPPORTED_COMPRESSORS[pkg.payload.compressor];
  if (compressor === undefined) {
    throw new StockadeError('INVALID_ARCHIVE', [`unsupported payload compressor ${quoteValue(pkg.payload.compressor)}`]);
  }
  const archive = await decompressPayload(data.subarray(pkg.payload.offset), compressor, options.limits);
  const cpio = readCpio(archive, options.limits);

  const listed = new Map(pkg.files.map((file) => [file.path, file]));
  const hardlinkBodies = new Map<number, Buffer>();
  for (const entry of cpio) {
    const file = listed.get(`/${entry.path}`);
    if (file === undefined) {
      throw new StockadeError('INVALID_ARCHIVE', [`payload entry ${quoteValue(entry.name)} is not in the header's file list`]);
    }
    if ((file.mode & 0o170000) !== (entry.mode & 0o170000)) {
      throw new StockadeError('INVALID_ARCHIVE', [
        `payload entry ${quoteValue(entry.name)} has file type ${octal(entry.mode & 0o170000)}, the header says ${octal(file.mode & 0o170000)}`,
      ]);
    }
    // newc stores a hard-linked body once, with the last link; the others carry none.
    if (entry.type === 'file' && entry.nlink > 1 && entry.body.length > 0) hardlinkBodies.set(entry.ino, entry.body);
  }

  const budget = { ...DEFAULT_VIEW_BUDGET, ...options.view };
  let held = 0;
  const entries: PayloadEntry[] = [];
  const inputs: ViewEntryInput[] = [];
  for (const entry of cpio) {
    const path = `/${entry.path}`;
    const body = entry.type === 'file' && entry.nlink > 1 && entry.body.length === 0 ? (hardlinkBodies.get(entry.ino) ?? entry.body) : entry.body;
    const item: PayloadEntry = { path, type: entry.type, mode: entry.mode, size: entry.type === 'file' ? body.length : 0 };
    if (entry.type === 'symlink') item.linkTarget = entry.body.toString('utf8');
    entries.push(item);
    if (entry.type === 'special') continue;
    const input: ViewEntryInput = { path: entry.path, type: entry.type, size: item.size, mode: entry.mode };
    if (item.linkTarget !== undefined) input.linkTarget = item.linkTarget;
    // Copies, so the view does not pin the whole decompressed payload in memory.
    if (entry.type === 'file' && body.length <= budget.maxFileBytes && held + body.length <= budget.maxTotalBytes) {
      input.body = Buffer.from(body);
      held += body.length;
    }
    inputs.push(input);
  }
  return { entries, view: createContentView(inputs, budget) };
}

function octal(value: number): string {
  return `0${value.toString(8)}`;
}
