"""The bootable serial-console preset every new project starts with.

Alpine's minirootfs inittab starts OpenRC (which the minirootfs lacks) and puts
gettys on tty1-6, so as shipped it boots to nothing on a serial console. The
preset replaces it with a BusyBox-init inittab and an rcS, written into the
overlay as ordinary files the user can see, edit or delete.
"""

from __future__ import annotations

from studio.image.base import BaseIndex

INITTAB = """\
# /etc/inittab for BusyBox init: Image Studio's serial console preset. Edit freely.
# Format: id::action:process (id is the tty for respawn/askfirst entries).

# Mount kernel filesystems, set the hostname.
::sysinit:/etc/init.d/rcS

# A root shell on the serial console (the studio's terminal). The leading '-' makes it a
# login shell, so /etc/profile sets the prompt and PATH.
ttyS0::respawn:-/bin/sh

# For a login prompt instead, replace the line above with:
#ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100

::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
"""

RCS = """\
#!/bin/sh
# /etc/init.d/rcS: run once by BusyBox init at boot (Image Studio preset). Edit freely.

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mkdir -p /dev/pts /dev/shm
mount -t devpts -o gid=5,mode=0620 devpts /dev/pts
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
hostname -F /etc/hostname

# The network (the studio's machine has a card unless its network is off): brought up in the
# background by BusyBox's DHCP client, so the shell prompt does not wait for it.
(
	ip link set lo up
	if [ -e /sys/class/net/eth0 ]; then
		ip link set eth0 up
		udhcpc -i eth0 -b -q -t 10 -T 1 -S >/dev/null 2>&1
	fi
) &
"""

SERIAL_GETTY = """\
# /etc/inittab for BusyBox init: a login prompt on the serial console (Image Studio preset).

::sysinit:/etc/init.d/rcS
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100

::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
"""

ALPINE_OPENRC = """\
# /etc/inittab: Alpine's OpenRC boot, with a getty on the serial console. Needs the openrc package.

::sysinit:/sbin/openrc sysinit
::sysinit:/sbin/openrc boot
::wait:/sbin/openrc default

# The studio's console is the serial port.
ttyS0::respawn:/sbin/getty -L 115200 ttyS0 vt100

::ctrlaltdel:/sbin/reboot
::shutdown:/sbin/openrc shutdown
"""

# name -> (inittab text, program it needs in the image, or '')
INITTAB_PRESETS = {
    "Serial root shell": (INITTAB, ""),
    "Serial getty with login": (SERIAL_GETTY, ""),
    "Alpine OpenRC": (ALPINE_OPENRC, "/sbin/openrc"),
}

RCS_PATH = "/etc/init.d/rcS"

# Snippets the script editor offers, by name.
SCRIPT_TEMPLATES = {
    "Mount filesystems": (
        "mount -t proc proc /proc\n"
        "mount -t sysfs sysfs /sys\n"
        "mkdir -p /dev/pts && mount -t devpts devpts /dev/pts\n"
        "mount -t tmpfs -o mode=1777 tmpfs /tmp\n"
    ),
    "Set hostname": "hostname -F /etc/hostname\n",
    "Start a program at boot": (
        "# Start a program in the background at boot; its output goes to /var/log/myprogram.log\n"
        "/usr/local/bin/myprogram >/var/log/myprogram.log 2>&1 &\n"
    ),
}


def apply_serial_console(project, index: BaseIndex) -> None:
    """Write the preset into the project's overlay (inittab, rcS, hostname)."""
    project.write_file("/etc/inittab", INITTAB)
    project.write_file(RCS_PATH, RCS, mode=0o755)
    project.write_file("/etc/hostname", project.name + "\n")
    for mount_point in ("/proc", "/sys", "/tmp", "/run", "/dev"):
        if mount_point not in index.entries:
            project.overlay_path(mount_point).mkdir(parents=True, exist_ok=True)
