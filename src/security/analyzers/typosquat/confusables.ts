/**
 * A skeleton of a name under visual confusion: two names with the same skeleton read alike
 * (`lodash` / `1odash` / `lоdash` with a Cyrillic о). Single characters map to the Latin letter
 * they imitate; a few letter pairs that render as one letter (`rn` → `m`) are folded too.
 */

const SINGLE: Readonly<Record<string, string>> = Object.freeze({
  // Cyrillic
  а: 'a', в: 'b', е: 'e', ё: 'e', к: 'k', м: 'm', н: 'h', о: 'o', р: 'p', с: 'c', т: 't', у: 'y', х: 'x', ѕ: 's', і: 'i', ї: 'i', ј: 'j', ԁ: 'd', һ: 'h', ԛ: 'q', ԝ: 'w', ӏ: 'l', ց: 'g', п: 'n', г: 'r', ь: 'b',
  // Greek
  α: 'a', β: 'b', ε: 'e', η: 'n', ι: 'i', κ: 'k', ν: 'v', ο: 'o', ρ: 'p', τ: 't', υ: 'u', χ: 'x', ω: 'w', γ: 'y', μ: 'u',
  // Latin look-alikes and dotless letters
  ı: 'i', ȷ: 'j', ł: 'l', ɡ: 'g', ɑ: 'a', ǀ: 'l', ß: 'b',
  // Digits and symbols read as letters
  '0': 'o', '1': 'l', '3': 'e', '4': 'a', '5': 's',
});

/** Pairs drawn as one letter in most fonts (`cl` → `d` is left out: cli, client, class are everywhere). */
const PAIRS: readonly (readonly [RegExp, string])[] = [
  [/rn/g, 'm'],
  [/vv/g, 'w'],
];

const MARK = /\p{M}/u;
// eslint-disable-next-line no-control-regex
const NON_ASCII = /[^\x00-\x7f]/;

/** Skeleton of an already lower-cased name; separators are left alone. */
export function skeleton(name: string): string {
  // NFKD splits accented letters (é → e + ◌́); dropping the marks leaves the base letter. Most
  // names are plain ASCII, which has neither to split nor to drop.
  const ascii = !NON_ASCII.test(name);
  let out = '';
  for (const ch of ascii ? name : name.normalize('NFKD')) if (ascii || !MARK.test(ch)) out += SINGLE[ch] ?? ch;
  for (const [pattern, replacement] of PAIRS) out = out.replace(pattern, replacement);
  return out;
}

/** True when the name holds anything the skeleton would change (most names hold nothing). */
export function hasConfusable(name: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]|[0-9]|rn|vv/.test(name);
}
