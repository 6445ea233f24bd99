import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ViewEntryInput } from '../../../src/security/view.js';
import type { FileMap } from '../analyzer-harness.js';
import { analyzeDeb, atLeast, describe as list, verdictOf } from './helpers.js';

// Typical maintainer scripts as debhelper and maintainers write them (inert text, never run).
// None may produce a warn-or-stronger finding.

const SERVICE_POSTINST = `#!/bin/sh
set -e

case "$1" in
    configure)
        if ! getent passwd exampled >/dev/null; then
            adduser --system --group --no-create-home --home /nonexistent --shell /usr/sbin/nologin \\
                --gecos "example daemon" exampled
        fi
        install -d -m 0750 -o exampled -g exampled /var/lib/exampled /var/log/exampled
        if [ -z "$2" ]; then
            chown -R exampled:exampled /var/lib/exampled
        fi
        ucf --three-way /usr/share/exampled/exampled.conf /etc/exampled/exampled.conf
        ;;
    abort-upgrade|abort-remove|abort-deconfigure)
        ;;
    *)
        echo "postinst called with unknown argument \\\`$1'" >&2
        exit 1
        ;;
esac

# Automatically added by dh_installsystemd/13.11.4
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	# This will only remove masks created by d-s-h on package removal.
	deb-systemd-helper unmask 'exampled.service' >/dev/null || true

	# was-enabled defaults to true, so new installations run enable.
	if deb-systemd-helper --quiet was-enabled 'exampled.service'; then
		# Enables the unit on first installation, creates new
		# symlinks on upgrades if the unit file has changed.
		deb-systemd-helper enable 'exampled.service' >/dev/null || true
	else
		# Update the statefile to add new symlinks (if any), which need to be
		# cleaned up on purge. Also remove old symlinks.
		deb-systemd-helper update-state 'exampled.service' >/dev/null || true
	fi
fi
# End automatically added section
# Automatically added by dh_installsystemd/13.11.4
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		deb-systemd-invoke $_dh_action 'exampled.service' >/dev/null || true
	fi
fi
# End automatically added section
# Automatically added by dh_installinit/13.11.4
if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then
	if [ -x "/etc/init.d/exampled" ]; then
		update-rc.d exampled defaults >/dev/null
		if [ -n "$2" ]; then
			_dh_action=restart
		else
			_dh_action=start
		fi
		invoke-rc.d --skip-systemd-native exampled $_dh_action || exit 1
	fi
fi
# End automatically added section

exit 0
`;

const SERVICE_POSTRM = `#!/bin/sh
set -e

if [ "$1" = "purge" ]; then
    rm -rf /var/lib/exampled /var/log/exampled
    rm -f /etc/exampled/exampled.conf
    if command -v ucf >/dev/null; then
        ucf --purge /etc/exampled/exampled.conf
    fi
    if getent passwd exampled >/dev/null; then
        deluser --system exampled || true
    fi
fi

# Automatically added by dh_installinit/13.11.4
if [ "$1" = "purge" ] ; then
	update-rc.d exampled remove >/dev/null
fi
# End automatically added section
# Automatically added by dh_installsystemd/13.11.4
if [ "$1" = remove ] && [ -d /run/systemd/system ] ; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ "$1" = "remove" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper mask 'exampled.service' >/dev/null || true
	fi
fi
if [ "$1" = "purge" ]; then
	if [ -x "/usr/bin/deb-systemd-helper" ]; then
		deb-systemd-helper purge 'exampled.service' >/dev/null || true
		deb-systemd-helper unmask 'exampled.service' >/dev/null || true
	fi
fi
# End automatically added section
`;

const SERVICE_PRERM = `#!/bin/sh
set -e
# Automatically added by dh_installsystemd/13.11.4
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
	deb-systemd-invoke stop 'exampled.service' >/dev/null || true
fi
# End automatically added section
# Automatically added by dh_installinit/13.11.4
if [ -x "/etc/init.d/exampled" ] && [ "$1" = remove ]; then
	invoke-rc.d --skip-systemd-native exampled stop || exit 1
fi
# End automatically added section
`;

const LIBRARY_POSTINST = `#!/bin/sh
set -e
# Automatically added by dh_makeshlibs/13.11.4
if [ "$1" = "configure" ]; then
	ldconfig
fi
# End automatically added section
`;

const ALTERNATIVES_POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
    update-alternatives --install /usr/bin/editor editor /usr/bin/example-edit 40 \\
        --slave /usr/share/man/man1/editor.1.gz editor.1.gz /usr/share/man/man1/example-edit.1.gz
    update-alternatives --install /usr/bin/vi vi /usr/bin/example-edit 20
fi
#DEBHELPER#
exit 0
`;

const ALTERNATIVES_PRERM = `#!/bin/sh
set -e
if [ "$1" = remove ] || [ "$1" = deconfigure ]; then
    update-alternatives --remove editor /usr/bin/example-edit
    update-alternatives --remove vi /usr/bin/example-edit
fi
#DEBHELPER#
`;

const MAINTSCRIPT_HELPER_PREINST = `#!/bin/sh
set -e
# Automatically added by dh_installdeb/13.11.4
dpkg-maintscript-helper rm_conffile /etc/example/old.conf 1.2-1~ example -- "$@"
dpkg-maintscript-helper mv_conffile /etc/example/a.conf /etc/example/b.conf 1.3-1~ example -- "$@"
dpkg-maintscript-helper symlink_to_dir /usr/share/doc/example example-common 1.4-1~ example -- "$@"
# End automatically added section
`;

const OWN_UNIT_POSTINST = `#!/bin/bash
set -euo pipefail
if [ "$1" = "configure" ]; then
    systemctl daemon-reload || true
    systemctl enable --now example-agent.service
    systemctl enable example-agent-cleanup.timer
    systemctl restart example-agent@default.service || true
fi
`;

const DEBCONF_CONFIG = `#!/bin/sh
set -e
. /usr/share/debconf/confmodule
db_version 2.0
db_input high example/admin_password || true
db_input medium example/listen_port || true
db_go || true
`;

const DEBCONF_POSTINST = `#!/bin/sh
set -e
. /usr/share/debconf/confmodule
if [ "$1" = configure ]; then
    db_get example/admin_password
    ADMIN_PASSWORD="$RET"
    db_get example/listen_port
    PORT="$RET"
    umask 077
    sed -i "s/^port=.*/port=$PORT/" /etc/example/example.ini
    printf 'admin_password=%s\\n' "$ADMIN_PASSWORD" > /etc/example/secret.ini
    chmod 0600 /etc/example/secret.ini
    db_reset example/admin_password || true
fi
db_stop
`;

const DESKTOP_POSTINST = `#!/bin/sh
set -e
if [ "$1" = "configure" ]; then
    if which update-mime-database >/dev/null 2>&1; then
        update-mime-database /usr/share/mime
    fi
    gtk-update-icon-cache -q -t -f /usr/share/icons/hicolor || true
    glib-compile-schemas /usr/share/glib-2.0/schemas
    update-desktop-database -q || true
    mkdir -p /var/cache/example
    touch /var/log/example-desktop.log
    chmod g+s /var/cache/example
fi
`;

const STATOVERRIDE_POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ]; then
    if ! dpkg-statoverride --list /usr/lib/example/helper >/dev/null 2>&1; then
        dpkg-statoverride --update --add root example 2750 /usr/lib/example/helper
    fi
    addgroup --system example
    adduser --system --ingroup example --home /var/lib/example example
    setcap cap_net_bind_service+ep /usr/sbin/example-httpd || true
fi
`;

const CRON_D = `# /etc/cron.d/example-rotate: clean up old spool files
SHELL=/bin/sh
PATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin
MAILTO=root

17 3 * * *	root	test -x /usr/sbin/example-rotate && /usr/sbin/example-rotate --quiet --max-age 14
@reboot		root	[ -x /usr/lib/example/boot-clean ] && /usr/lib/example/boot-clean
30 4 * * 0	example	find /var/spool/example -type f -mtime +30 -delete
`;

const CRON_DAILY = `#!/bin/sh
# Rotate example logs, the way logrotate's own cron.daily script does.
test -x /usr/sbin/logrotate || exit 0
if [ -d /run/systemd/system ]; then
    exit 0
fi
/usr/sbin/logrotate /etc/logrotate.d/example
`;

const PROFILE_D = `# Add the example tools to the path of login shells.
if [ -d /opt/example/bin ]; then
    PATH="$PATH:/opt/example/bin"
    export PATH
fi
alias ex='example --color=auto'
`;

const SUDOERS_README = `#
# Files in /etc/sudoers.d are read by sudo; this one only explains the directory.
#
`;

interface Package {
  name: string;
  files: FileMap;
  extra?: ViewEntryInput[];
}

const unit = '[Unit]\nDescription=example\n[Service]\nExecStart=/usr/sbin/exampled\n';

const packages: Package[] = [
  {
    name: 'a service with adduser --system, deb-systemd-helper and an init script',
    files: {
      'DEBIAN/postinst': SERVICE_POSTINST,
      'DEBIAN/postrm': SERVICE_POSTRM,
      'DEBIAN/prerm': SERVICE_PRERM,
      'lib/systemd/system/exampled.service': unit,
      'etc/init.d/exampled': '#!/bin/sh\n### BEGIN INIT INFO\n# Provides: exampled\n### END INIT INFO\n',
      'usr/sbin/exampled': 'ELF',
    },
  },
  { name: 'a shared library running ldconfig', files: { 'DEBIAN/postinst': LIBRARY_POSTINST, 'DEBIAN/triggers': 'activate-noawait ldconfig\n', 'usr/lib/x86_64-linux-gnu/libexample.so.1.2.3': 'ELF' } },
  { name: 'an editor registering alternatives', files: { 'DEBIAN/postinst': ALTERNATIVES_POSTINST, 'DEBIAN/prerm': ALTERNATIVES_PRERM, 'usr/bin/example-edit': 'ELF' } },
  { name: 'conffile moves with dpkg-maintscript-helper', files: { 'DEBIAN/preinst': MAINTSCRIPT_HELPER_PREINST, 'DEBIAN/postinst': MAINTSCRIPT_HELPER_PREINST, 'DEBIAN/postrm': MAINTSCRIPT_HELPER_PREINST } },
  {
    name: 'an agent enabling its own units (usr/lib/systemd)',
    files: {
      'DEBIAN/postinst': OWN_UNIT_POSTINST,
      'usr/lib/systemd/system/example-agent.service': unit,
      'usr/lib/systemd/system/example-agent-cleanup.timer': '[Timer]\nOnCalendar=daily\n',
      'usr/lib/systemd/system/example-agent@.service': unit,
    },
  },
  { name: 'debconf questions and a password written to its own config', files: { 'DEBIAN/config': DEBCONF_CONFIG, 'DEBIAN/postinst': DEBCONF_POSTINST, 'DEBIAN/templates': 'Template: example/admin_password\nType: password\n' } },
  { name: 'a desktop application refreshing caches', files: { 'DEBIAN/postinst': DESKTOP_POSTINST, 'usr/share/applications/example.desktop': '[Desktop Entry]\n' } },
  { name: 'a setgid helper through dpkg-statoverride and capabilities', files: { 'DEBIAN/postinst': STATOVERRIDE_POSTINST, 'usr/lib/example/helper': 'ELF', 'usr/sbin/example-httpd': 'ELF' } },
  {
    name: 'a cron.d job, a cron.daily script and a profile.d snippet',
    files: { 'etc/cron.d/example-rotate': CRON_D, 'etc/cron.daily/example': CRON_DAILY, 'etc/profile.d/example.sh': PROFILE_D, 'usr/sbin/example-rotate': 'ELF' },
  },
  {
    name: 'sudo-style layout: a README in sudoers.d, a sticky shared directory',
    files: { 'etc/sudoers.d/README': SUDOERS_README },
    extra: [
      { path: 'var/spool/example', type: 'directory', size: 0, mode: 0o1777 },
      { path: 'usr/bin/example-mail', type: 'file', size: 3, mode: 0o755, body: Buffer.from('ELF') },
    ],
  },
];

describe('os-packages on benign packages', () => {
  for (const pkg of packages) {
    it(`${pkg.name}: nothing that warns`, async () => {
      const findings = await analyzeDeb({ 'DEBIAN/control': 'Package: example\n', ...pkg.files }, pkg.extra ?? []);
      const loud = findings.filter((f) => atLeast(f, 'medium') || verdictOf([f]).action !== 'allow');
      assert.deepEqual(loud, [], list(loud));
      assert.equal(verdictOf(findings).action, 'allow');
    });
  }
});
