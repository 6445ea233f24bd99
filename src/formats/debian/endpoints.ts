/**
 * Every endpoint of the APT repository below `/{owner}/{repo}/debian`. The routes are registered
 * from this list only, and the authorization matrix test walks it.
 */
export const DEBIAN_ENDPOINTS = [
  // InRelease, Release, Release.gpg
  { id: 'release', methods: ['GET', 'HEAD'], route: '/dists/:dist/:file', path: '/dists/{dist}/{file}', access: 'repo-read' },
  // Packages, Packages.gz and by-hash/SHA256/<hex> below <component>/binary-<arch>/
  { id: 'index', methods: ['GET', 'HEAD'], route: '/dists/:dist/:component/:binary/*', path: '/dists/{dist}/{component}/{binary}/{file}', access: 'repo-read' },
  { id: 'pool', methods: ['GET', 'HEAD'], route: '/pool/*', path: '/pool/{file}', access: 'repo-read' },
  { id: 'public-key', methods: ['GET', 'HEAD'], route: '/gpg.key', path: '/gpg.key', access: 'repo-read' },
  { id: 'keyring', methods: ['GET', 'HEAD'], route: '/keyring.gpg', path: '/keyring.gpg', access: 'repo-read' },
  // `curl -fsSL …/debian/setup.deb.sh | sudo sh` adds the repository to a machine.
  { id: 'setup', methods: ['GET', 'HEAD'], route: '/setup.deb.sh', path: '/setup.deb.sh', access: 'repo-read' },
] as const;

export type DebianEndpointId = (typeof DEBIAN_ENDPOINTS)[number]['id'];
