#!/usr/bin/env node
// Regenerates assets/popular/rubygems.tsv, the popular-gem list of the typosquat analyzer.
//
// No download counts of the gem service are used: the list is derived from two sources this
// project can read offline.
//   1. Debian's package index, as `apt-cache dumpavail` prints it (the lists apt already holds):
//      every gem Debian packages (binary `ruby-<gem>`, and gems packaged under their own name in
//      Section ruby whose Homepage ends in that name: rake, rails, puma, …), with the number of
//      distinct Debian source packages whose binaries Depend/Pre-Depend/Recommend on it.
//   2. The gem names of the rubysec advisory database (test/data/advisories/rubysec.zip), with the
//      number of advisories each has: attackers imitate the gems people audit and depend on.
// Score = Debian reverse dependencies + rubysec advisories. Gems Debian packages without any
// dependent or advisory are left out (an obscure name is no squatting target and only adds
// false positives). Most popular first; ties by name.
//
// Gem spelling: Debian lower-cases and turns `_` into `-` (ruby-mini-portile2 for mini_portile2),
// so the spelling is taken from rubysec when it lists the gem, else from the Homepage's last path
// segment when it names the same gem, else the Debian name without `ruby-` is kept.
//
// Usage: node scripts/popular-rubygems.mjs [--out FILE] [--dumpavail FILE] [--date YYYY-MM-DD] [--held-out FILE]
//   --dumpavail FILE  read a saved `apt-cache dumpavail` output instead of running apt-cache
//   --held-out FILE   also write the Debian-packaged gems left out of the list (no dependent, no
//                     advisory), one a line: real, legitimate names for the false-positive test

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import yauzl from 'yauzl';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name) => {
  const i = args.indexOf(name);
  return i === -1 ? undefined : args[i + 1];
};
const out = option('--out') ?? join(root, 'assets', 'popular', 'rubygems.tsv');
const date = option('--date') ?? new Date().toISOString().slice(0, 10);

/** Separator- and case-insensitive key, to join Debian, rubysec and Homepage spellings. */
const key = (name) => name.toLowerCase().replace(/_/g, '-');

function paragraphs(text) {
  const out = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map();
    let last;
    for (const line of block.split('\n')) {
      if (/^[ \t]/.test(line)) continue; // continuation lines (Description) are not needed
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      last = line.slice(0, colon);
      fields.set(last, line.slice(colon + 1).trim());
    }
    if (fields.has('Package')) out.push(fields);
  }
  return out;
}

/** Package names a relationship field mentions (`a (>= 1) | b, c:any`). */
function relations(value) {
  if (!value) return [];
  return value
    .split(/[,|]/)
    .map((part) => part.trim().split(/[\s(:[]/)[0])
    .filter(Boolean);
}

function lastPathSegment(url) {
  if (!url) return undefined;
  try {
    const segments = new URL(url).pathname.split('/').filter(Boolean);
    return segments.at(-1)?.replace(/\.git$/, '');
  } catch {
    return undefined;
  }
}

async function rubysecGems(zipPath) {
  const zip = await yauzl.openPromise(zipPath, { lazyEntries: true, autoClose: false });
  const counts = new Map();
  try {
    for await (const entry of zip.eachEntry()) {
      const m = /^gems\/([^/]+)\/[^/]+\.yml$/.exec(entry.fileName);
      if (m) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
    }
  } finally {
    zip.close();
  }
  return counts;
}

const dumpavail = option('--dumpavail');
const text = dumpavail
  ? readFileSync(dumpavail, 'utf8')
  : execFileSync('apt-cache', ['dumpavail'], { encoding: 'utf8', maxBuffer: 1 << 30 });
const packages = paragraphs(text);
const advisories = await rubysecGems(join(root, 'test', 'data', 'advisories', 'rubysec.zip'));
const rubysecSpelling = new Map([...advisories.keys()].map((name) => [key(name), name]));

const NOT_GEMS = new Set(['ruby-full', 'ruby-dev', 'ruby-all-dev', 'ruby-defaults', 'ruby-build', 'ruby-team-meta']);

/**
 * Debian binary package (or a name it Provides) → the gem names it ships. A versioned
 * `Provides: ruby-<name> (= v)` is how Debian records the real gem name when it packages a gem
 * under another name (ruby-concurrent ships concurrent-ruby), or a fork under the original one.
 */
const gemsOf = new Map();
const spell = (gem, homepage) => rubysecSpelling.get(key(gem)) ?? (homepage !== undefined && key(homepage) === key(gem) ? homepage : gem);
for (const p of packages) {
  const name = p.get('Package');
  const section = p.get('Section') ?? '';
  if (section === 'oldlibs' || /transitional/i.test(p.get('Description') ?? '')) continue;
  const homepage = lastPathSegment(p.get('Homepage'));
  let gem;
  if (name.startsWith('ruby-')) {
    if (NOT_GEMS.has(name) || /-(doc|dev|dbg|common)$/.test(name)) continue;
    gem = name.slice('ruby-'.length);
  } else if (section === 'ruby' && homepage !== undefined && key(homepage) === key(name) && !/^(j|m)?ruby[0-9.]*$/.test(name)) {
    gem = name;
  } else continue;
  const provided = [...(p.get('Provides') ?? '').matchAll(/(?:^|,)\s*ruby-([a-z0-9][a-z0-9.+-]*)\s*\(=/g)].map((m) => m[1]);
  // `<gem>-ruby` provided by ruby-<gem> is the gem's real name, not a second gem.
  const real = provided.find((alias) => alias === `${gem}-ruby` || alias === `ruby-${gem}`);
  const gems = [spell(real ?? gem, homepage)];
  for (const alias of provided) {
    const aliasGem = spell(alias, homepage);
    if (!gems.includes(aliasGem)) gems.push(aliasGem);
    gemsOf.set(`ruby-${alias}`, gems);
  }
  gemsOf.set(name, gems);
}

// Reverse dependencies: distinct source packages whose binaries need the gem's package.
const dependents = new Map();
for (const p of packages) {
  const source = (p.get('Source') ?? p.get('Package')).split(' ')[0];
  const own = gemsOf.get(p.get('Package'));
  for (const field of ['Depends', 'Pre-Depends', 'Recommends']) {
    for (const target of relations(p.get(field))) {
      const gems = gemsOf.get(target);
      if (gems === undefined || gems === own) continue;
      for (const gem of gems) {
        let set = dependents.get(gem);
        if (!set) dependents.set(gem, (set = new Set()));
        set.add(source);
      }
    }
  }
}

const debianGems = new Set([...gemsOf.values()].flat());
const scores = new Map();
for (const gem of new Set([...debianGems, ...advisories.keys()])) {
  const score = (dependents.get(gem)?.size ?? 0) + (advisories.get(gem) ?? 0);
  if (score > 0) scores.set(gem, score);
}
const ranked = [...scores].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

const header = [
  `# RubyGems names, most popular first: name<TAB>score, generated ${date} by scripts/popular-rubygems.mjs.`,
  '# Score = Debian source packages depending on the gem (Debian 12 package index via apt-cache dumpavail)',
  '#   + advisories naming it in rubysec/ruby-advisory-db @8cfcc07 (test/data/advisories/rubysec.zip).',
];
writeFileSync(out, `${header.join('\n')}\n${ranked.map(([gem, score]) => `${gem}\t${score}`).join('\n')}\n`);
const heldOut = option('--held-out');
if (heldOut) {
  // Real gems left out of the list: what the false-positive test checks new names against.
  const left = [...debianGems].filter((gem) => !scores.has(gem)).sort();
  writeFileSync(heldOut, `${left.join('\n')}\n`);
}
console.log(`${ranked.length} gems written to ${out} (${debianGems.size} gems packaged by Debian, ${advisories.size} in rubysec)`);
