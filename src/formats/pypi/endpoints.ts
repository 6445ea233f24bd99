/**
 * Every endpoint of the Python package index below `/{owner}/{repo}/pypi`: the Simple
 * Repository API under `simple/`, file downloads under `files/`, and the legacy upload API twine
 * posts to (`legacy/`, and the bare root some `~/.pypirc` files name). The routes are registered
 * from this list only, and the authorization matrix test walks it.
 */
export const PYPI_ENDPOINTS = [
  { id: 'index', methods: ['GET', 'HEAD'], route: '/simple/', path: '/simple/', access: 'repo-read' },
  // PEP 503: the slash-less forms redirect to the canonical URL.
  { id: 'index-redirect', methods: ['GET', 'HEAD'], route: '/simple', path: '/simple', access: 'repo-read' },
  { id: 'project', methods: ['GET', 'HEAD'], route: '/simple/:project/', path: '/simple/{project}/', access: 'repo-read' },
  { id: 'project-redirect', methods: ['GET', 'HEAD'], route: '/simple/:project', path: '/simple/{project}', access: 'repo-read' },
  // A distribution file, or `{file}.metadata` (PEP 658).
  { id: 'file', methods: ['GET', 'HEAD'], route: '/files/:project/:file', path: '/files/{project}/{file}', access: 'repo-read' },
  { id: 'upload', methods: ['POST'], route: '/legacy/', path: '/legacy/', access: 'repo-write' },
  { id: 'upload-legacy-bare', methods: ['POST'], route: '/legacy', path: '/legacy', access: 'repo-write' },
  { id: 'upload-root', methods: ['POST'], route: '/', path: '/', access: 'repo-write' },
] as const;

export type PypiEndpointId = (typeof PYPI_ENDPOINTS)[number]['id'];
