import { createGunzip } from 'node:zlib';
import { Decompress as ZstdDecompress } from 'fzstd';
import xzDecompress from 'xz-decompress';
import { StockadeError } from '../../errors.js';
import type { ContentView } from '../../security/types.js';
import { createContentView, DEFAULT_VIEW_BUDGET, type ViewBudget, type ViewEntryInput } from '../../security/view.js';
import { InstallPaths } from '../archive/paths.js';
import { BodyCollector, StrictTarReader } from '../archive/strict-tar.js';
import { printable } from '../npm/names.js';
import { readAr, type ArMember } from './ar.js';
import { ControlFields, DEFAULT_CONTROL_LIMITS, parseControl, validateBinaryControl } from './control.js';

/**
 * Reads a binary Debian package (`.deb`) written by anyone, without extracting it: the `ar`
 * container, the control tarball (control file, maintainer scripts, conffiles, md5sums) and the
 * data tarball's file list. Archives whose unpacking could escape the root or exhaust resources
 * are UNSAFE_ARCHIVE; anything dpkg would refuse, or that tools could read differently, is
 * INVALID_ARCHIVE. Nothing else is thrown.
 */

export interface DebLimits {
  /** Most `ar` members (three are required; `_`-prefixed extras are skipped). */
  maxMembers: number;
  /** Largest decompressed control.tar. */
  maxControlUnpackedBytes: number;
  /** Largest decompressed data.tar. */
  maxUnpackedBytes: number;
  /** Highest decompressed:compressed ratio of a member, enforced past `ratioGraceBytes` of output. */
  maxRatio: number;
  /** Output any member may reach whatever its ratio: tar headers and padding compress extremely well. */
  ratioGraceBytes: number;
  /** Most entries in data.tar (files, directories, links, …). */
  maxEntries: number;
  /** Most entries in control.tar. */
  maxControlEntries: number;
  /** Most path segments in one entry path. */
  maxDepth: number;
  /** Largest control file, fields and single field value. */
  maxControlBytes: number;
  maxControlFields: number;
  maxControlValueBytes: number;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export const DEFAULT_DEB_LIMITS: Readonly<DebLimits> = Object.freeze({
  maxMembers: 16,
  // md5sums of the largest packages (kernel headers, texlive) reach a few MiB.
  maxControlUnpackedBytes: 64 * MiB,
  // data.tar is streamed, never held whole; this bounds CPU time, not memory.
  maxUnpackedBytes: 4 * GiB,
  // Typical .debs unpack at 3-10:1. 200:1 past 64 MiB still lets a sparse firmware image through
  // while a 1 MiB upload cannot make us inflate more than 200 MiB.
  maxRatio: 200,
  ratioGraceBytes: 64 * MiB,
  // The biggest Debian packages list ~150k paths (texlive-fonts-extra, linux headers).
  maxEntries: 250_000,
  maxControlEntries: 256,
  maxDepth: 64,
  maxControlBytes: DEFAULT_CONTROL_LIMITS.maxBytes,
  maxControlFields: DEFAULT_CONTROL_LIMITS.maxFields,
  maxControlValueBytes: DEFAULT_CONTROL_LIMITS.maxValueBytes,
});

export type DebCompression = 'none' | 'gzip' | 'xz' | 'zstd';

export type DebFileType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface DebFile {
  /** Installed path: absolute, normalized (`./usr/bin/x` → `/usr/bin/x`; the root is `/`). */
  path: string;
  type: DebFileType;
  /** Permission bits including setuid/setgid/sticky (`& 0o7777`). */
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Body size for regular files, 0 otherwise. */
  size: number;
  /** Symlinks: the target as written (never followed). Hard links: the normalized installed path. */
  linkTarget?: string;
}

export interface DebScripts {
  preinst?: string;
  postinst?: string;
  prerm?: string;
  postrm?: string;
  config?: string;
  triggers?: string;
}

export interface DebContents {
  control: ControlFields;
  /** The control file exactly as shipped. */
  controlText: string;
  scripts: DebScripts;
  /** Conffile paths, flags such as `remove-on-upgrade` stripped. */
  conffiles: string[];
  /** Installed path (`/usr/bin/x`) → md5 hex, from the package's own md5sums. */
  md5sums: Map<string, string>;
  files: DebFile[];
  /** Every member of control.tar with its size, e.g. control, md5sums, postinst, shlibs, templates. */
  controlMembers: { name: string; size: number; mode: number }[];
  dataCompression: DebCompression;
  controlCompression: DebCompression;
  /** Sum of regular file sizes in data.tar. */
  unpackedSize: number;
  /** `debian-binary` version, e.g. `2.0`. */
  formatVersion: string;
  /**
   * The contents for the security gate, when asked for: data files under their installed path
   * without the leading `/` (`usr/bin/x`), and the control members under `DEBIAN/` as dpkg-deb
   * lays them out (`DEBIAN/postinst`). Symlinks and hard links are recorded, never followed.
   */
  view?: ContentView;
}

export interface ParseDebOptions {
  /** Keep file bodies (within the budget) and return them as a ContentView. */
  view?: boolean | Partial<ViewBudget>;
}

const SCRIPT_MEMBERS = ['preinst', 'postinst', 'prerm', 'postrm', 'config', 'triggers'] as const;

const COMPRESSOR_SUFFIXES: Record<string, DebCompression> = { '': 'none', '.gz': 'gzip', '.xz': 'xz', '.zst': 'zstd' };
// dpkg reads these, but node has no decoder for them and we add no dependency.
const UNSUPPORTED_SUFFIXES: Record<string, string> = { '.bz2': 'bzip2', '.lzma': 'lzma' };

const TAR_TYPES: Partial<Record<string, DebFileType>> = {
  File: 'file',
  OldFile: 'file',
  ContiguousFile: 'file',
  Directory: 'dir',
  GNUDumpDir: 'dir',
  SymbolicLink: 'symlink',
  Link: 'hardlink',
  CharacterDevice: 'char',
  BlockDevice: 'block',
  FIFO: 'fifo',
};

const VIEW_TYPES: Partial<Record<DebFileType, ViewEntryInput['type']>> = {
  file: 'file',
  dir: 'directory',
  symlink: 'symlink',
  hardlink: 'link',
};

/** dpkg-deb builds the control area from this directory and never puts it in data.tar. */
const CONTROL_VIEW_PREFIX = 'DEBIAN';

export async function parseDeb(data: Buffer, limits: Partial<DebLimits> = {}, options: ParseDebOptions = {}): Promise<DebContents> {
  const opts: DebLimits = { ...DEFAULT_DEB_LIMITS, ...limits };
  const members = readAr(data, { maxMembers: opts.maxMembers });
  const { formatVersion, control: controlMember, data: dataMember } = pickMembers(members);

  const controlCompression = compressionOf(controlMember.name, 'control.tar', false);
  const dataCompression = compressionOf(dataMember.name, 'data.tar', true);

  const controlArea = await readControlArea(controlMember, controlCompression, opts);
  const controlBody = controlArea.get('control');
  if (controlBody === undefined) {
    throw new StockadeError('INVALID_ARCHIVE', [`${controlMember.name} has no "control" file`]);
  }
  // Control text is UTF-8 by Debian Policy; other bytes decode to U+FFFD rather than failing.
  const controlText = controlBody.toString('utf8');
  const control = parseControl(controlText, {
    source: 'control file',
    limits: { maxBytes: opts.maxControlBytes, maxFields: opts.maxControlFields, maxValueBytes: opts.maxControlValueBytes },
  });
  validateBinaryControl(control);

  const scripts: DebScripts = {};
  for (const name of SCRIPT_MEMBERS) {
    const body = controlArea.get(name);
    if (body !== undefined) scripts[name] = body.toString('utf8');
  }
  const conffilesBody = controlArea.get('conffiles');
  const conffiles = conffilesBody === undefined ? [] : parseConffiles(conffilesBody.toString('utf8'));
  const md5sumsBody = controlArea.get('md5sums');
  const md5sums = md5sumsBody === undefined ? new Map<string, string>() : parseMd5sums(md5sumsBody.toString('utf8'));

  const budget = options.view ? { ...DEFAULT_VIEW_BUDGET, ...(options.view === true ? {} : options.view) } : undefined;
  // Maintainer scripts are what dpkg runs as root: they keep their place in the view however
  // large the payload is, so the data area gets what they leave of the budget.
  const controlBytes = [...controlArea.values()].reduce((sum, body) => sum + body.length, 0);
  const dataBudget = budget ? { ...budget, maxTotalBytes: Math.max(0, budget.maxTotalBytes - controlBytes) } : undefined;
  const dataArea = await readDataArea(dataMember, dataCompression, opts, dataBudget);

  const result: DebContents = {
    control,
    controlText,
    scripts,
    conffiles,
    md5sums,
    files: dataArea.files,
    controlMembers: [...controlArea.entries()].map(([name, body]) => ({ name, size: body.length, mode: controlArea.modes.get(name) ?? 0 })),
    dataCompression,
    controlCompression,
    unpackedSize: dataArea.unpackedSize,
    formatVersion,
  };
  if (budget) {
    const inputs: ViewEntryInput[] = [];
    for (const [name, body] of controlArea) {
      inputs.push({ path: `${CONTROL_VIEW_PREFIX}/${name}`, type: 'file', size: body.length, mode: controlArea.modes.get(name) ?? 0, body });
    }
    for (const file of dataArea.files) {
      const type = VIEW_TYPES[file.type];
      if (type === undefined || file.path === '/') continue;
      const input: ViewEntryInput = { path: file.path.slice(1), type, size: file.size, mode: file.mode };
      if (file.linkTarget !== undefined) {
        input.linkTarget = file.type === 'hardlink' ? file.linkTarget.slice(1) : file.linkTarget;
      }
      const body = dataArea.bodies.get(file.path);
      if (body !== undefined) input.body = body;
      inputs.push(input);
    }
    result.view = createContentView(inputs, budget);
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// ar members

interface PickedMembers {
  formatVersion: string;
  control: ArMember;
  data: ArMember;
}

/** Enforces dpkg's member order; unlike dpkg it also rejects anything it would silently skip after data.tar. */
function pickMembers(members: ArMember[]): PickedMembers {
  const first = members[0];
  if (first === undefined) throw new StockadeError('INVALID_ARCHIVE', ['the ar archive is empty (not a Debian package)']);
  if (first.name !== 'debian-binary') {
    throw new StockadeError('INVALID_ARCHIVE', [
      `the first ar member is "${printable(first.name, 40)}", not "debian-binary" (not a Debian package)`,
    ]);
  }
  const formatVersion = parseDebianBinary(first.data);
  let control: ArMember | undefined;
  let dataMember: ArMember | undefined;
  for (const member of members.slice(1)) {
    const name = member.name;
    // dpkg skips `_` members wherever they appear after debian-binary.
    if (name.startsWith('_')) continue;
    if (name === 'debian-binary') throw new StockadeError('INVALID_ARCHIVE', ['the ar archive has two "debian-binary" members']);
    if (name.startsWith('control.tar')) {
      if (control !== undefined) {
        throw new StockadeError('INVALID_ARCHIVE', [`the ar archive has two control members ("${control.name}" and "${printable(name, 40)}")`]);
      }
      if (dataMember !== undefined) {
        throw new StockadeError('INVALID_ARCHIVE', [`"${printable(name, 40)}" comes after "${dataMember.name}"; dpkg needs the control member first`]);
      }
      control = member;
      continue;
    }
    if (name.startsWith('data.tar')) {
      if (dataMember !== undefined) {
        // apt and dpkg could each pick a different one: never ambiguous.
        throw new StockadeError('INVALID_ARCHIVE', [`the ar archive has two data members ("${dataMember.name}" and "${printable(name, 40)}")`]);
      }
      if (control === undefined) {
        throw new StockadeError('INVALID_ARCHIVE', [`"${printable(name, 40)}" comes before any control.tar member; dpkg needs the control member first`]);
      }
      dataMember = member;
      continue;
    }
    throw new StockadeError('INVALID_ARCHIVE', [
      `unexpected ar member "${printable(name, 40)}" (a .deb holds debian-binary, control.tar*, data.tar* and optional "_" members)`,
    ]);
  }
  if (control === undefined) throw new StockadeError('INVALID_ARCHIVE', ['the package has no control.tar member']);
  if (dataMember === undefined) throw new StockadeError('INVALID_ARCHIVE', ['the package has no data.tar member']);
  return { formatVersion, control, data: dataMember };
}

function parseDebianBinary(body: Buffer): string {
  // deb(5): readers must accept a higher minor version and ignore further lines.
  if (body.length > 4096) throw new StockadeError('INVALID_ARCHIVE', ['the "debian-binary" member is too large']);
  const text = body.toString('latin1');
  const match = /^(2\.[0-9]+)\n/.exec(text);
  if (match === null) {
    const firstLine = text.split('\n')[0] ?? '';
    throw new StockadeError('INVALID_ARCHIVE', [
      `"debian-binary" says "${printable(firstLine, 40)}"; only format 2.x followed by a newline is supported`,
    ]);
  }
  return match[1] as string;
}

function compressionOf(memberName: string, base: 'control.tar' | 'data.tar', allowUnsupported: boolean): DebCompression {
  const suffix = memberName.slice(base.length);
  const known = COMPRESSOR_SUFFIXES[suffix];
  if (known !== undefined && Object.hasOwn(COMPRESSOR_SUFFIXES, suffix)) return known;
  const unsupported = Object.hasOwn(UNSUPPORTED_SUFFIXES, suffix) ? UNSUPPORTED_SUFFIXES[suffix] : undefined;
  if (unsupported !== undefined && allowUnsupported) {
    throw new StockadeError('INVALID_ARCHIVE', [
      `"${memberName}" uses the ${unsupported} compressor, which is unsupported here: rebuild with dpkg-deb -Zxz, -Zzstd or -Zgzip`,
    ]);
  }
  throw new StockadeError('INVALID_ARCHIVE', [
    `"${printable(memberName, 40)}" has an unknown compressor "${printable(suffix.replace(/^\./, ''), 20)}" (expected none, gz, xz or zst)`,
  ]);
}

// ---------------------------------------------------------------------------------------------
// Decompression with budgets

type Sink = (chunk: Buffer) => void;

function outputBudget(member: ArMember, hardLimit: number, limits: DebLimits): { bytes: number; why: string } {
  const byRatio = Math.max(limits.ratioGraceBytes, member.data.length * limits.maxRatio);
  if (hardLimit <= byRatio) return { bytes: hardLimit, why: `the limit for ${member.name.split('.')[0] ?? ''}.tar` };
  return {
    bytes: byRatio,
    why: `a compression ratio above ${limits.maxRatio}:1 for a ${member.data.length}-byte member: likely a decompression bomb`,
  };
}

function bombError(member: ArMember, budget: { bytes: number; why: string }): StockadeError {
  return new StockadeError('UNSAFE_ARCHIVE', [`"${member.name}" decompresses to more than ${budget.bytes} bytes (${budget.why})`]);
}

function corruptError(member: ArMember, compression: DebCompression, error: unknown): StockadeError {
  const detail = error instanceof Error ? error.message : String(error);
  return new StockadeError('INVALID_ARCHIVE', [`"${member.name}" is not valid ${compression} data (${printable(detail, 120)})`]);
}

/** Streams a member's decompressed bytes into `sink`, stopping as soon as the budget is passed. */
async function decompressMember(member: ArMember, compression: DebCompression, budget: { bytes: number; why: string }, sink: Sink): Promise<void> {
  let produced = 0;
  const counted: Sink = (chunk) => {
    produced += chunk.length;
    if (produced > budget.bytes) throw bombError(member, budget);
    sink(chunk);
  };
  switch (compression) {
    case 'none':
      for (let offset = 0; offset < member.data.length; offset += MiB) counted(member.data.subarray(offset, offset + MiB));
      return;
    case 'gzip':
      return gunzipInto(member, counted);
    case 'zstd':
      return unzstdInto(member, budget, counted);
    case 'xz':
      return unxzInto(member, counted);
  }
}

async function gunzipInto(member: ArMember, sink: Sink): Promise<void> {
  const gunzip = createGunzip();
  gunzip.end(member.data);
  try {
    // Leaving the loop (a sink error) destroys the stream, so no inflating continues.
    for await (const chunk of gunzip) sink(chunk as Buffer);
  } catch (error) {
    if (error instanceof StockadeError) throw error;
    throw corruptError(member, 'gzip', error);
  }
}

// zstd's own decoder refuses windows above 2^27 unless told otherwise (ZSTD_WINDOWLOG_LIMIT_DEFAULT).
const MAX_ZSTD_WINDOW = 128 * MiB;

async function unzstdInto(member: ArMember, budget: { bytes: number; why: string }, sink: Sink): Promise<void> {
  // fzstd allocates the frame's whole window (or declared content size) up front, so a forged
  // header could ask for gigabytes before one byte is produced: check every frame first.
  checkZstdFrames(member, budget);
  const decoder = new ZstdDecompress((chunk) => sink(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
  try {
    decoder.push(member.data, true);
  } catch (error) {
    if (error instanceof StockadeError) throw error;
    throw corruptError(member, 'zstd', error);
  }
}

function checkZstdFrames(member: ArMember, budget: { bytes: number; why: string }): void {
  const data = member.data;
  const invalid = (detail: string): StockadeError => new StockadeError('INVALID_ARCHIVE', [`"${member.name}" is not valid zstd data (${detail})`]);
  let pos = 0;
  let frames = 0;
  while (pos < data.length) {
    if (pos + 8 > data.length) throw invalid(`truncated frame header at offset ${pos}`);
    const magic = data.readUInt32LE(pos);
    if ((magic & 0xfffffff0) >>> 0 === 0x184d2a50) {
      pos += 8 + data.readUInt32LE(pos + 4);
      continue;
    }
    if (magic !== 0xfd2fb528) throw invalid(`bad frame magic at offset ${pos}`);
    frames++;
    const descriptor = data[pos + 4] as number;
    const singleSegment = (descriptor >> 5) & 1;
    const hasChecksum = (descriptor >> 2) & 1;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3] as number;
    const contentSizeFlag = descriptor >> 6;
    if (descriptor & 8) throw invalid('reserved frame header bit set');
    if (dictionaryBytes !== 0) throw invalid('frames compressed with a dictionary are not supported');
    let p = pos + 5;
    let window = 0;
    if (!singleSegment) {
      const windowDescriptor = data[p++] as number;
      const base = 2 ** (10 + (windowDescriptor >> 3));
      window = base + (base / 8) * (windowDescriptor & 7);
    }
    const contentSizeBytes = contentSizeFlag === 0 ? singleSegment : ([0, 2, 4, 8][contentSizeFlag] as number);
    if (p + contentSizeBytes > data.length) throw invalid('truncated frame header');
    let contentSize: number | undefined;
    if (contentSizeBytes === 1) contentSize = data[p] as number;
    else if (contentSizeBytes === 2) contentSize = data.readUInt16LE(p) + 256;
    else if (contentSizeBytes === 4) contentSize = data.readUInt32LE(p);
    else if (contentSizeBytes === 8) contentSize = Number(data.readBigUInt64LE(p));
    p += contentSizeBytes;
    if (singleSegment) window = contentSize ?? 0;
    if (contentSize !== undefined && contentSize > budget.bytes) {
      throw new StockadeError('UNSAFE_ARCHIVE', [
        `"${member.name}" declares ${contentSize} decompressed bytes, more than ${budget.bytes} (${budget.why})`,
      ]);
    }
    if (window > MAX_ZSTD_WINDOW) {
      throw new StockadeError('UNSAFE_ARCHIVE', [`"${member.name}" asks for a ${window}-byte zstd window (limit ${MAX_ZSTD_WINDOW})`]);
    }
    // Walk the blocks to find the next frame; a block header is 3 bytes: last, type, size.
    for (;;) {
      if (p + 3 > data.length) throw invalid('truncated block header');
      const header = (data[p] as number) | ((data[p + 1] as number) << 8) | ((data[p + 2] as number) << 16);
      const last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw invalid('reserved block type');
      p += 3 + (type === 1 ? 1 : size);
      if (p > data.length) throw invalid('truncated block');
      if (last) break;
    }
    pos = p + (hasChecksum ? 4 : 0);
    if (pos > data.length) throw invalid('truncated frame checksum');
  }
  if (frames === 0) throw invalid('no zstd frame');
}

const { XzReadableStream } = xzDecompress;
/** Compressed bytes handed to the xz decoder at a time; bounds how far a bomb runs past the budget. */
const XZ_INPUT_CHUNK = 4096;

/**
 * xz-decompress only offers a web stream. Cancelling it while its pull is pending lets that pull
 * write into a WASM context that may already belong to another decode, so we never cancel: to
 * stop early we fail our own input stream and read the decoder until it errors, which it does at
 * its next input request (at most one small input chunk later).
 */
async function unxzInto(member: ArMember, sink: Sink): Promise<void> {
  const input = member.data;
  let offset = 0;
  let stopReason: unknown;
  const source = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (stopReason !== undefined) {
          controller.error(stopReason);
        } else if (offset >= input.length) {
          // The decoder then reports a cut-short stream itself (no progress without input).
          controller.close();
        } else {
          controller.enqueue(new Uint8Array(input.subarray(offset, offset + XZ_INPUT_CHUNK)));
          offset += XZ_INPUT_CHUNK;
        }
      },
    },
    { highWaterMark: 0 },
  );
  const reader = new XzReadableStream(source).getReader();
  let emptyReads = 0;
  for (;;) {
    let step: Awaited<ReturnType<typeof reader.read>>;
    try {
      step = await reader.read();
    } catch (error) {
      if (stopReason !== undefined) throw stopReason;
      throw corruptError(member, 'xz', error);
    }
    if (step.done) break;
    if (stopReason !== undefined) continue;
    const chunk = step.value;
    // A stalled decoder yields empty chunks; never spin on them.
    if (chunk.length === 0) {
      if (++emptyReads > 1000) stopReason = corruptError(member, 'xz', new Error('the decoder made no progress'));
      continue;
    }
    emptyReads = 0;
    try {
      sink(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    } catch (error) {
      stopReason = error;
    }
  }
  if (stopReason !== undefined) throw stopReason;
}

// ---------------------------------------------------------------------------------------------
// tar

/** Rejects names that could land outside the root or be read differently by dpkg and us. */
function checkEntryName(member: string, raw: string, maxDepth: number): string[] {
  if (raw.includes('\0')) throw new StockadeError('UNSAFE_ARCHIVE', [`"${member}" entry "${printable(raw)}" has a NUL byte in its path`]);
  // dpkg's file lists are newline-separated; it refuses such names too.
  if (raw.includes('\n')) throw new StockadeError('UNSAFE_ARCHIVE', [`"${member}" entry "${printable(raw)}" has a newline in its path`]);
  const segments = raw.split('/');
  if (segments.includes('..')) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`"${member}" entry "${printable(raw)}" has a ".." path segment`]);
  }
  const kept = segments.filter((s) => s !== '' && s !== '.');
  if (kept.length > maxDepth) {
    throw new StockadeError('UNSAFE_ARCHIVE', [`"${member}" entry "${printable(raw, 80)}" is nested ${kept.length} levels deep (limit ${maxDepth})`]);
  }
  return kept;
}

// ---------------------------------------------------------------------------------------------
// control.tar

interface ControlArea extends Map<string, Buffer> {
  modes: Map<string, number>;
}

async function readControlArea(member: ArMember, compression: DebCompression, limits: DebLimits): Promise<ControlArea> {
  const area = new Map<string, Buffer>() as ControlArea;
  area.modes = new Map();
  const pending = new Map<string, Buffer[]>();
  let entries = 0;
  const reader = new StrictTarReader({
    label: `"${member.name}"`,
    gzipReason: 'its content is gzip-compressed twice',
    onEntry(entry) {
      const raw = entry.path;
      if (++entries > limits.maxControlEntries) {
        throw new StockadeError('UNSAFE_ARCHIVE', [`"${member.name}" has more than ${limits.maxControlEntries} entries`]);
      }
      const segments = checkEntryName(member.name, raw, limits.maxDepth);
      const type = TAR_TYPES[entry.type];
      if (segments.length === 0) {
        if (type !== 'dir') throw new StockadeError('INVALID_ARCHIVE', [`"${member.name}" has a ${entry.type} entry at its root`]);
        entry.resume();
        return;
      }
      // The control area is extracted to a scratch directory and scripts are run from it:
      // a link there could make dpkg read or execute something else.
      if (type !== 'file') {
        const what = type === undefined ? `of unsupported type ${entry.type}` : `a ${type}`;
        const code = type === 'dir' ? 'INVALID_ARCHIVE' : 'UNSAFE_ARCHIVE';
        throw new StockadeError(code, [`"${member.name}" entry "${printable(raw)}" is ${what}; only regular files belong in the control area`]);
      }
      if (segments.length > 1) {
        throw new StockadeError('INVALID_ARCHIVE', [`"${member.name}" entry "${printable(raw)}" is in a subdirectory; control files sit at the top level`]);
      }
      const name = segments[0] as string;
      if (pending.has(name)) {
        throw new StockadeError('UNSAFE_ARCHIVE', [`"${member.name}" has two entries named "${printable(name)}"`]);
      }
      const chunks: Buffer[] = [];
      pending.set(name, chunks);
      area.modes.set(name, (entry.mode ?? 0) & 0o7777);
      entry.on('data', (chunk: Buffer) => chunks.push(chunk));
    },
  });
  await decompressMember(member, compression, outputBudget(member, limits.maxControlUnpackedBytes, limits), (chunk) => reader.write(chunk));
  reader.end();
  for (const [name, chunks] of pending) area.set(name, Buffer.concat(chunks));
  return area;
}

function parseConffiles(text: string): string[] {
  const paths: string[] = [];
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.trim();
    if (line === '') return;
    // dpkg ≥ 1.20.1 allows flags before the path, e.g. `remove-on-upgrade /etc/foo.conf`.
    const path = line.startsWith('/') ? line : line.replace(/^(?:[a-z-]+\s+)+/, '');
    if (!path.startsWith('/')) {
      throw new StockadeError('INVALID_ARCHIVE', [`conffiles line ${index + 1}: "${printable(line, 80)}" is not an absolute path`]);
    }
    paths.push(path);
  });
  return paths;
}

function parseMd5sums(text: string): Map<string, string> {
  const sums = new Map<string, string>();
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    const match = /^([0-9a-fA-F]{32}) [ *](.+)$/.exec(line);
    if (match === null) {
      throw new StockadeError('INVALID_ARCHIVE', [`md5sums line ${index + 1}: expected "<md5>  <path>", got "${printable(line, 80)}"`]);
    }
    const path = `/${(match[2] as string).split('/').filter((s) => s !== '' && s !== '.').join('/')}`;
    sums.set(path, (match[1] as string).toLowerCase());
  });
  return sums;
}

// ---------------------------------------------------------------------------------------------
// data.tar

interface DataArea {
  files: DebFile[];
  bodies: Map<string, Buffer>;
  unpackedSize: number;
}

async function readDataArea(member: ArMember, compression: DebCompression, limits: DebLimits, budget: ViewBudget | undefined): Promise<DataArea> {
  const files: DebFile[] = [];
  const installed = new InstallPaths<DebFileType>('entries', 'dir');
  const symlinks = new Set<string>();
  const collector = budget === undefined ? undefined : new BodyCollector(budget);
  let unpackedSize = 0;
  let entries = 0;

  const reader = new StrictTarReader({
    label: `"${member.name}"`,
    gzipReason: 'its content is gzip-compressed twice',
    onEntry(entry) {
      const raw = entry.path;
      if (++entries > limits.maxEntries) {
        throw new StockadeError('UNSAFE_ARCHIVE', [`"${member.name}" has more than ${limits.maxEntries} entries (at "${printable(raw)}")`]);
      }
      const segments = checkEntryName(member.name, raw, limits.maxDepth);
      const type = TAR_TYPES[entry.type];
      if (type === undefined) {
        throw new StockadeError('UNSAFE_ARCHIVE', [`"${member.name}" entry "${printable(raw)}" is of unsupported type ${entry.type}`]);
      }
      const path = `/${segments.join('/')}`;
      if (segments[0] === CONTROL_VIEW_PREFIX) {
        throw new StockadeError('INVALID_ARCHIVE', [
          `"${member.name}" entry "${printable(raw)}" lies under /${CONTROL_VIEW_PREFIX}, which dpkg-deb reserves for the control area`,
        ]);
      }
      installed.claim(path, raw, type);
      const size = type === 'file' ? entry.size : 0;
      const file: DebFile = {
        path,
        type,
        mode: (entry.mode ?? 0) & 0o7777,
        uid: entry.uid ?? 0,
        gid: entry.gid ?? 0,
        uname: entry.uname ?? '',
        gname: entry.gname ?? '',
        size,
      };
      if (type === 'symlink') {
        const target = entry.linkpath ?? '';
        if (target === '' || target.includes('\0') || target.includes('\n')) {
          throw new StockadeError('UNSAFE_ARCHIVE', [`symlink "${printable(raw)}" has an empty target or one with a NUL byte or newline`]);
        }
        file.linkTarget = target;
        symlinks.add(path);
      } else if (type === 'hardlink') {
        const rawTarget = entry.linkpath ?? '';
        const targetSegments = checkEntryName(member.name, rawTarget, limits.maxDepth);
        const target = `/${targetSegments.join('/')}`;
        // A tar hard link names an earlier member; anything else cannot be extracted.
        if (installed.typeOf(target) !== 'file') {
          throw new StockadeError('INVALID_ARCHIVE', [`hard link "${printable(raw)}" points to "${printable(rawTarget)}", which is not an earlier regular file`]);
        }
        file.linkTarget = target;
      }
      files.push(file);
      if (type === 'file') {
        unpackedSize += size;
        if (collector?.keep(entry, path, size)) return;
      }
      entry.resume();
    },
  });
  await decompressMember(member, compression, outputBudget(member, limits.maxUnpackedBytes, limits), (chunk) => reader.write(chunk));
  reader.end();

  // Writing below a symlink would land wherever it points.
  if (symlinks.size > 0) {
    for (const file of files) {
      for (let end = file.path.indexOf('/', 1); end !== -1; end = file.path.indexOf('/', end + 1)) {
        const ancestor = file.path.slice(0, end);
        if (symlinks.has(ancestor)) {
          throw new StockadeError('UNSAFE_ARCHIVE', [`entry "${printable(file.path)}" lies inside the symlink "${printable(ancestor)}"`]);
        }
      }
    }
  }
  return { files, bodies: collector?.bodies() ?? new Map<string, Buffer>(), unpackedSize };
}
