/**
 * Every endpoint of the RPM repositories below `/{owner}/{repo}/rpm`. A distribution's base URL
 * (dnf's `baseurl`) is `/{owner}/{repo}/rpm/{distro}/{release}`. The routes are registered from
 * this list only, and the authorization matrix test walks it.
 */
export const RPM_ENDPOINTS = [
  // repomd.xml, repomd.xml.asc and <sha256>-{primary,filelists,other}.xml.gz
  { id: 'repodata', methods: ['GET', 'HEAD'], route: '/:distro/:release/repodata/:file', path: '/{distro}/{release}/repodata/{file}', access: 'repo-read' },
  { id: 'package', methods: ['GET', 'HEAD'], route: '/:distro/:release/Packages/*', path: '/{distro}/{release}/Packages/{file}', access: 'repo-read' },
  { id: 'public-key', methods: ['GET', 'HEAD'], route: '/gpgkey', path: '/gpgkey', access: 'repo-read' },
  // `curl -fsSL …/rpm/setup.rpm.sh | sudo sh` adds the repository to a machine.
  { id: 'setup', methods: ['GET', 'HEAD'], route: '/setup.rpm.sh', path: '/setup.rpm.sh', access: 'repo-read' },
] as const;

export type RpmEndpointId = (typeof RPM_ENDPOINTS)[number]['id'];
