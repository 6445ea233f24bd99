import type { ArtifactInfo, ContentView } from '../../types.js';

/**
 * What the package itself installs, as far as the rules need it: the service units and init
 * scripts it ships (enabling or stopping those is ordinary maintainer-script work), and the owner
 * and type of each payload entry when the format passes them (the view has neither).
 */

export interface ShippedServices {
  /** Unit file names (`foo.service`, `foo@.service`) from any systemd unit directory of the payload. */
  units: ReadonlySet<string>;
  /** Script names under `etc/init.d/`. */
  initScripts: ReadonlySet<string>;
}

const UNIT_DIR = /^(?:usr\/)?lib\/systemd\/(?:system|user)\/([^/]+)$|^etc\/systemd\/(?:system|user)\/([^/]+)$/;
const INIT_SCRIPT = /^etc\/init\.d\/([^/]+)$/;
/** Unit files are a few KB; larger ones are not read for aliases. */
const MAX_UNIT_BYTES = 64 * 1024;

export function shippedServices(view: ContentView): ShippedServices {
  const units = new Set<string>();
  const initScripts = new Set<string>();
  for (const entry of view.entries) {
    if (entry.type === 'directory') continue;
    const unit = UNIT_DIR.exec(entry.path);
    const unitName = unit?.[1] ?? unit?.[2];
    if (unitName !== undefined) {
      units.add(unitName);
      // `Alias=sshd.service` makes `systemctl enable sshd` name the shipped unit too.
      const text = entry.type === 'file' && entry.size <= MAX_UNIT_BYTES ? view.text(entry.path) : undefined;
      for (const m of (text ?? '').matchAll(/^\s*Alias\s*=\s*(.+)$/gm)) for (const alias of (m[1] ?? '').split(/\s+/)) if (alias !== '') units.add(alias);
    }
    const init = INIT_SCRIPT.exec(entry.path);
    if (init?.[1] !== undefined) initScripts.add(init[1]);
  }
  return { units, initScripts };
}

/** `foo` → `foo.service`; `foo@bar.service` → `foo@.service` (the template that ships). */
export function unitFileName(unit: string): string {
  const withType = /\.(?:service|socket|timer|path|mount|automount|target|slice|scope|swap|device)$/.test(unit) ? unit : `${unit}.service`;
  return withType.replace(/@[^.]+(\.[a-z]+)$/, '@$1');
}

/** True when the named service is one the package ships, as a unit or an init script. */
export function isShippedService(shipped: ShippedServices, name: string): boolean {
  const unit = unitFileName(name);
  if (shipped.units.has(unit)) return true;
  const bare = name.replace(/\.service$/, '');
  return shipped.initScripts.has(bare);
}

export type PayloadType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface PayloadOwner {
  type?: PayloadType;
  uid?: number;
  uname?: string;
  mode?: number;
  /** RPM `%ghost`: owned by the package but not created from the payload. */
  ghost?: boolean;
}

const PAYLOAD_TYPES: ReadonlySet<string> = new Set(['file', 'dir', 'symlink', 'hardlink', 'char', 'block', 'fifo']);

/**
 * `manifest.files: [{ path, type?, uid?, uname?, mode?, ghost? }]`, the shape of parseDeb's
 * `files` and of rpmGateManifest's (absolute or view-relative paths both accepted). Absent,
 * owners are unknown and device nodes cannot be seen; malformed items are skipped.
 */
export function payloadOwners(artifact: ArtifactInfo): Map<string, PayloadOwner> {
  const owners = new Map<string, PayloadOwner>();
  const list = artifact.manifest.files;
  if (!Array.isArray(list)) return owners;
  for (const item of list) {
    if (typeof item !== 'object' || item === null) continue;
    const { path, type, uid, uname, mode, ghost } = item as Record<string, unknown>;
    if (typeof path !== 'string' || path.length > 4096) continue;
    const owner: PayloadOwner = {};
    if (typeof type === 'string' && PAYLOAD_TYPES.has(type)) owner.type = type as PayloadType;
    if (typeof uid === 'number' && Number.isInteger(uid)) owner.uid = uid;
    if (typeof uname === 'string') owner.uname = uname.slice(0, 64);
    if (typeof mode === 'number' && Number.isInteger(mode)) owner.mode = mode & 0o7777;
    if (ghost === true) owner.ghost = true;
    owners.set(path.replace(/^\/+/, ''), owner);
  }
  return owners;
}

/** Root unless the format said otherwise: dpkg-deb and rpmbuild make root the owner by default. */
export function ownedByRoot(owner: PayloadOwner | undefined): boolean {
  if (owner === undefined) return true;
  if (owner.uid !== undefined && owner.uid !== 0) return false;
  if (owner.uname !== undefined && owner.uname !== '' && owner.uname !== 'root') return false;
  return true;
}
