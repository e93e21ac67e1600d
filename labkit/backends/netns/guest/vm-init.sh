#!/bin/sh
# PID 1 of a labkit netns VM (run as: ip netns exec NS unshare --uts --pid --fork --mount-proc sh vm-init.sh DIR FLAVOUR NAME).
# It gives the VM its own /etc (an overlay: the VM's changes land in DIR/etc, the real /etc is never
# written), /run, /tmp, /root, /home and DHCP leases, starts a real sshd, brings the network up the way the
# guest's distribution does, says "booted", then reaps orphans until it is told to power off.
set -u
d=$1; flavour=$2; name=$3
hostname "$name"
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$d/etc,workdir=$d/etc-work" /etc || exit 1
mount -t tmpfs -o mode=0755,size=16m vmrun /run
mount -t tmpfs -o mode=1777,size=64m vmtmp /tmp
mkdir -p /run/network /run/sshd
mount --bind "$d/var-lib-dhcp" /var/lib/dhcp
mount --bind "$d/root" /root
[ -d "$d/home" ] && mount --bind "$d/home" /home
/usr/sbin/sshd -f /etc/ssh/sshd_config -E "$d/sshd.log"
if [ "$flavour" = rhel ]; then
  /etc/init.d/network start > "$d/boot-net.log" 2>&1
else
  ifup -a > "$d/boot-net.log" 2>&1
fi
echo booted > "$d/ready"
trap 'exit 0' TERM
while :; do sleep 86400 & wait $!; done
