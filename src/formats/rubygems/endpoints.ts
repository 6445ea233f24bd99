/**
 * Every endpoint of the RubyGems protocols below `/{owner}/{repo}/rubygems`: the Marshal index
 * `gem install` reads, the compact index bundler reads, downloads, the versions API (publish
 * times, for a remote repository's cooldown), and the push/yank API of `gem push --host` and
 * `gem yank --host`. The routes are registered from this list only.
 */
export const RUBYGEMS_ENDPOINTS = [
  // gem probes the source URL: answered by remote and virtual repositories (resolve through /info/NAME).
  { id: 'root', methods: ['GET', 'HEAD'], route: '/', path: '/', access: 'repo-read' },
  { id: 'specs', methods: ['GET', 'HEAD'], route: '/specs.4.8.gz', path: '/specs.4.8.gz', access: 'repo-read' },
  { id: 'latest-specs', methods: ['GET', 'HEAD'], route: '/latest_specs.4.8.gz', path: '/latest_specs.4.8.gz', access: 'repo-read' },
  { id: 'prerelease-specs', methods: ['GET', 'HEAD'], route: '/prerelease_specs.4.8.gz', path: '/prerelease_specs.4.8.gz', access: 'repo-read' },
  { id: 'quick-spec', methods: ['GET', 'HEAD'], route: '/quick/Marshal.4.8/:file', path: '/quick/Marshal.4.8/{file}', access: 'repo-read' },
  { id: 'gem', methods: ['GET', 'HEAD'], route: '/gems/:file', path: '/gems/{file}', access: 'repo-read' },
  { id: 'versions', methods: ['GET', 'HEAD'], route: '/versions', path: '/versions', access: 'repo-read' },
  { id: 'info', methods: ['GET', 'HEAD'], route: '/info/:name', path: '/info/{name}', access: 'repo-read' },
  { id: 'names', methods: ['GET', 'HEAD'], route: '/names', path: '/names', access: 'repo-read' },
  { id: 'versions-json', methods: ['GET', 'HEAD'], route: '/api/v1/versions/:file', path: '/api/v1/versions/{name}.json', access: 'repo-read' },
  { id: 'push', methods: ['POST'], route: '/api/v1/gems', path: '/api/v1/gems', access: 'repo-write' },
  { id: 'yank', methods: ['DELETE'], route: '/api/v1/gems/yank', path: '/api/v1/gems/yank', access: 'repo-delete' },
] as const;

export type RubygemsEndpointId = (typeof RUBYGEMS_ENDPOINTS)[number]['id'];
