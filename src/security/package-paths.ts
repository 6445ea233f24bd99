/**
 * Joins a relative path (`./lib/x.js`, `../setup.js`, `a\\b`) onto a folder inside a package, as
 * a script run from that folder would resolve it. Undefined when the result would leave the
 * package root: analyzers never follow a path out of the artifact.
 */
export function joinInsidePackage(base: string, rel: string): string | undefined {
  const parts = base === '' ? [] : base.split('/');
  for (const seg of rel.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(seg);
  }
  return parts.join('/');
}
