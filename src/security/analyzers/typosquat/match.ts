import { distance } from 'fastest-levenshtein';
import type { Confidence } from '../../types.js';
import { hasConfusable, skeleton } from './confusables.js';
import { bareName, scopeOf, stripSeparators, wordKey, type NameIndex, type PopularEntry } from './name-index.js';

export const TECHNIQUES = [
  'homoglyph',
  'transposition',
  'case-confusion',
  'repeated-character',
  'omitted-character',
  'edit-distance',
  'separator',
  'word-order',
  'scope-confusion',
  'affix',
] as const;
export type Technique = (typeof TECHNIQUES)[number];

export interface Lookalike {
  target: PopularEntry;
  technique: Technique;
  confidence: Confidence;
  /** What differs, for the message: the affix removed, the scope, the edit. */
  note?: string;
}

/**
 * Edit-distance matches need names of at least this many characters. Measured leave-one-out on
 * the npm top 10,000 (each name checked against the others), names of 4 characters or fewer
 * sit one edit from another popular name far more often than longer ones (ms/ws/qs, ora/ini,
 * pify/pino): there are only so many short strings, so a match says nothing about intent.
 * A plain substitution or insertion needs one more character than omissions and repeats,
 * which are the common slips; an adjacent swap keeps a lower floor (`axois`, `asycn`).
 */
export const MIN_EDIT_LENGTH = 5;
const MIN_PLAIN_EDIT_LENGTH = 6;
const MIN_TRANSPOSITION_LENGTH = 4;
/** Homoglyphs need a floor for the same reason (`ws` / `w5`). */
const MIN_HOMOGLYPH_LENGTH = 4;
/** The name left after removing an affix must be at least this long to mean anything. */
const MIN_AFFIX_REST = 4;

const SEPARATOR = /^[-_.]$/;

const CONFIDENCE_ORDER: Record<Confidence, number> = { low: 0, medium: 1, high: 2 };

/** QWERTY neighbours: a substitution by an adjacent key is a typing slip, the likeliest squat. */
const KEY_ROWS = ['1234567890-', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];

function adjacentKeys(a: string, b: string): boolean {
  for (let r = 0; r < KEY_ROWS.length; r++) {
    const row = KEY_ROWS[r] as string;
    const i = row.indexOf(a);
    if (i === -1) continue;
    for (let dr = -1; dr <= 1; dr++) {
      const other = KEY_ROWS[r + dr];
      if (other === undefined) continue;
      for (let dc = -1; dc <= 1; dc++) if ((dr !== 0 || dc !== 0) && other[i + dc] === b) return true;
    }
  }
  return false;
}

/** How candidate `c` differs from target `t` by one edit or one adjacent swap, if it does. */
export function classifyEdit(c: string, t: string): { technique: Technique; confidence: Confidence; note: string } | undefined {
  if (c.length === t.length) {
    let first = -1;
    let second = -1;
    for (let i = 0; i < c.length; i++) {
      if (c[i] === t[i]) continue;
      if (first === -1) first = i;
      else if (second === -1) second = i;
      else return undefined;
    }
    if (first === -1) return undefined;
    if (second === -1) {
      const from = t[first] as string;
      const to = c[first] as string;
      if (SEPARATOR.test(from) && SEPARATOR.test(to)) return { technique: 'separator', confidence: 'medium', note: 'different separators' };
      return { technique: 'edit-distance', confidence: adjacentKeys(from, to) ? 'medium' : 'low', note: `"${from}" replaced by "${to}"` };
    }
    if (second === first + 1 && c[first] === t[second] && c[second] === t[first]) return { technique: 'transposition', confidence: 'high', note: 'transposed letters' };
    return undefined;
  }
  if (distance(c, t) !== 1) return undefined;
  if (c.length === t.length + 1) {
    let i = 0;
    while (i < t.length && c[i] === t[i]) i++;
    const extra = c[i] as string;
    if (SEPARATOR.test(extra)) return { technique: 'separator', confidence: 'medium', note: 'different separators' };
    if (c[i - 1] === extra || c[i + 1] === extra) return { technique: 'repeated-character', confidence: 'medium', note: `repeated "${extra}"` };
    return { technique: 'edit-distance', confidence: 'low', note: `added "${extra}"` };
  }
  let i = 0;
  while (i < c.length && c[i] === t[i]) i++;
  const missing = t[i] ?? '';
  if (SEPARATOR.test(missing)) return { technique: 'separator', confidence: 'medium', note: 'different separators' };
  return { technique: 'omitted-character', confidence: 'medium', note: `missing "${missing}"` };
}

/**
 * Every popular name the candidate imitates, best first (confidence, then popularity). The
 * candidate's own entry is never returned; whether a listed candidate is exempt is the caller's
 * decision (the analyzer exempts it, the false-positive test does not).
 */
export function findLookalikes(index: NameIndex, candidate: string): Lookalike[] {
  const { naming, targets } = index;
  const norm = naming.normalize(candidate);
  const found = new Map<string, Lookalike>();
  const add = (target: PopularEntry, technique: Technique, confidence: Confidence, note?: string): void => {
    if (target.norm === norm) return;
    const prev = found.get(target.norm);
    if (prev !== undefined && CONFIDENCE_ORDER[prev.confidence] >= CONFIDENCE_ORDER[confidence]) return;
    found.set(target.norm, { target, technique, confidence, ...(note !== undefined ? { note } : {}) });
  };

  // npm legacy mixed-case names: `jsonstream` is a different package from `JSONStream`.
  const sameNorm = targets.get(norm);
  const caseMatch: Lookalike[] = naming.caseSensitive && sameNorm !== undefined && sameNorm.name !== candidate ? [{ target: sameNorm, technique: 'case-confusion', confidence: 'high', note: 'different letter case' }] : [];

  if (norm.length >= MIN_HOMOGLYPH_LENGTH && hasConfusable(norm)) {
    for (const t of index.skeletons.get(skeleton(norm)) ?? []) add(t, 'homoglyph', 'high', 'look-alike characters');
  }

  editMatches(index, norm, add);

  for (const t of index.separatorless.get(stripSeparators(norm)) ?? []) add(t, 'separator', 'medium', 'different separators');

  const words = wordKey(norm);
  if (words !== undefined) for (const t of index.wordSets.get(words) ?? []) add(t, 'word-order', 'medium', 'words reordered');

  affixMatches(index, norm, add);
  if (naming.scoped) scopeMatches(index, norm, add);

  return [...caseMatch, ...found.values()].sort((a, b) => CONFIDENCE_ORDER[b.confidence] - CONFIDENCE_ORDER[a.confidence] || a.target.rank - b.target.rank);
}

type Add = (target: PopularEntry, technique: Technique, confidence: Confidence, note?: string) => void;

/** One insertion, deletion, substitution or adjacent swap, among targets of a close length. */
function editMatches(index: NameIndex, norm: string, add: Add, afterAffix?: string): void {
  const tryTarget = (t: PopularEntry): void => {
    const edit = classifyEdit(norm, t.norm);
    if (edit === undefined || !meaningfulEdit(norm, t.norm, edit)) return;
    if (afterAffix === undefined) add(t, edit.technique, edit.confidence, edit.note);
    // A typo on top of an affix: only the likely slips, never a plain insertion.
    else if (edit.technique !== 'edit-distance' || edit.confidence !== 'low') add(t, edit.technique, 'low', `${edit.note} after removing ${afterAffix}`);
  };
  const first = norm.charAt(0);
  const last = norm.charAt(norm.length - 1);
  for (let length = norm.length - 1; length <= norm.length + 1; length++) {
    for (const t of index.byLengthFirst.get(`${length}:${first}`) ?? []) if (withinOneEdit(norm, t.norm)) tryTarget(t);
    for (const t of index.byLengthLast.get(`${length}:${last}`) ?? []) if (t.norm.charAt(0) !== first && withinOneEdit(norm, t.norm)) tryTarget(t);
  }
}

/**
 * Cheap pre-test for "one insertion, deletion, substitution or adjacent swap apart", without
 * allocating: the common prefix and suffix must leave at most one character (or one swapped
 * pair) between them. Most pairs fail within the first characters.
 */
export function withinOneEdit(a: string, b: string): boolean {
  const la = a.length;
  const lb = b.length;
  if (a === b || Math.abs(la - lb) > 1) return false;
  const shorter = Math.min(la, lb);
  let i = 0;
  while (i < shorter && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  let j = 0;
  while (j < shorter - i && a.charCodeAt(la - 1 - j) === b.charCodeAt(lb - 1 - j)) j++;
  if (la !== lb) return i + j >= shorter;
  if (i + j === la - 1) return true;
  return i + j === la - 2 && a.charCodeAt(i) === b.charCodeAt(i + 1) && a.charCodeAt(i + 1) === b.charCodeAt(i);
}

/**
 * Filters edits that real, unrelated popular names show all the time (measured leave-one-out):
 * short names; version digits (`through2`, `pyqt5`/`pyqt6`, `cu11`/`cu12`); an edit inside a
 * short word of a long family name (`mypy-boto3-sqs`/`-sts`); two names of one scope compared
 * on their part after the scope (`@types/qs`/`@types/ws`).
 */
function meaningfulEdit(c: string, t: string, edit: { technique: Technique; confidence: Confidence }): boolean {
  const cScope = scopeOf(c);
  const sameScope = cScope !== undefined && cScope === scopeOf(t);
  const cc = sameScope ? (bareName(c) as string) : c;
  const tt = sameScope ? (bareName(t) as string) : t;
  const shortest = Math.min(cc.length, tt.length);
  const floor = edit.technique === 'transposition' ? MIN_TRANSPOSITION_LENGTH : edit.technique === 'edit-distance' && edit.confidence === 'low' ? MIN_PLAIN_EDIT_LENGTH : MIN_EDIT_LENGTH;
  if (shortest < floor) return false;
  // Where the two names first differ, and the word of the target that holds that position.
  let at = 0;
  while (at < cc.length && cc[at] === tt[at]) at++;
  const changed = `${cc[at] ?? ''}${tt[at] ?? ''}`;
  if (edit.technique !== 'transposition' && /^[0-9]+$/.test(changed)) return false;
  if (edit.technique === 'omitted-character' && /^[0-9]$/.test(tt[at] ?? '')) return false;
  // The scope counts as a word: `@aws-sdk/client-sqs` is a three-word family name.
  const words = tt.split(/[-_.]/);
  if (words.length + (sameScope ? 1 : 0) >= 3) {
    let start = 0;
    for (const w of words) {
      if (at <= start + w.length) {
        if (w.length <= 3) return false;
        break;
      }
      start += w.length + 1;
    }
  }
  return true;
}

/** `lodash-js`, `python-requests`, `requests-py`, `dateutil` for `python-dateutil`, `py-x` for `python-x`. */
function affixMatches(index: NameIndex, norm: string, add: Add): void {
  const { prefixes, suffixes } = index.naming;
  const stripped: { rest: string; affix: string }[] = [];
  for (const p of prefixes) if (norm.startsWith(p) && norm.length - p.length >= MIN_AFFIX_REST) stripped.push({ rest: norm.slice(p.length), affix: `"${p}"` });
  for (const s of suffixes) if (norm.endsWith(s) && norm.length - s.length >= MIN_AFFIX_REST) stripped.push({ rest: norm.slice(0, -s.length), affix: `"${s}"` });
  // `underscore.string-2`: a version number bolted on (npm only: PyPI names end in `-cu12`, `-2` by convention).
  const version = index.naming.versionSuffix ? /^(.{4,})[-_.]v?[0-9]+$/.exec(norm) : null;
  if (version !== null && version[1] !== undefined) {
    const t = index.targets.get(version[1]);
    if (t !== undefined) add(t, 'affix', 'low', 'added a version number');
  }

  const lookup = (name: string, note: string): void => {
    const t = index.targets.get(name);
    if (t !== undefined) add(t, 'affix', 'low', note);
  };
  // Only affixes the candidate adds (or swaps): the reverse, a popular `js-yaml` or `pyarrow`
  // next to a plain `yaml` or `arrow`, is how unrelated packages are named all the time.
  for (const { rest, affix } of stripped) {
    lookup(rest, `added ${affix}`);
    for (const p of prefixes) lookup(p + rest, `${affix} instead of "${p}"`);
    for (const s of suffixes) lookup(rest + s, `${affix} instead of "${s}"`);
    // A typo on top of the affix (`ethesjs` for `ethers`).
    editMatches(index, rest, add, affix);
  }
}

/** npm scopes: `babel-core` for `@babel/core`, `@types/x` for `types-x`, `plugin-react` for `@vitejs/plugin-react`. */
function scopeMatches(index: NameIndex, norm: string, add: Add): void {
  const scope = scopeOf(norm);
  const bare = bareName(norm);
  if (scope !== undefined && bare !== undefined) {
    for (const joined of [`${scope}-${bare}`, `${scope}${bare}`]) {
      const t = index.targets.get(joined);
      if (t !== undefined) add(t, 'scope-confusion', 'medium', `scope "@${scope}" made part of the name`);
    }
    return;
  }
  for (let i = norm.indexOf('-'); i > 0; i = norm.indexOf('-', i + 1)) {
    const t = index.targets.get(`@${norm.slice(0, i)}/${norm.slice(i + 1)}`);
    if (t !== undefined) add(t, 'scope-confusion', 'medium', 'scope turned into a name prefix');
  }
  // A bare `x` next to a popular `@scope/x` is not checked: measured on the npm top 10,000 it is
  // how unrelated packages are named (`colors` / `@colors/colors`, `request` / `@octokit/request`).
}
