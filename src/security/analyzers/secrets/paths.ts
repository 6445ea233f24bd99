// Folders and file names where packages keep tests, fixtures and examples: fake credentials
// are common there, so matches lose a step of confidence (never dropped when precise).
const TEST_PATH = /(?:^|\/)(?:tests?|__tests__|__mocks__|spec|specs|fixtures?|__fixtures__|examples?|samples?|demo|testdata|test-data)\/|\.(?:test|spec)\.[cm]?[jt]sx?$/i;

const LOCKFILES = new Set(['package-lock.json', 'npm-shrinkwrap.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lock', 'composer.lock', 'gemfile.lock', 'cargo.lock', 'poetry.lock', 'pipfile.lock', 'uv.lock', 'go.sum', 'packages.lock.json']);

export function isTestPath(path: string): boolean {
  return TEST_PATH.test(path);
}

export function isLockfile(base: string): boolean {
  return LOCKFILES.has(base);
}

/** Source maps repeat the sources they map (and are huge); the sources themselves are scanned. */
export function isSkipped(path: string): boolean {
  return /\.(?:js|css|mjs|cjs)\.map$|\.map$/i.test(path);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1).toLowerCase();
}
