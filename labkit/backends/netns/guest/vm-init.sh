#!/bin/sh
# The init of a labkit netns VM: run by vmroot.py (as sh -c SCRIPT vm-init DIR FLAVOUR NAME, PID 1 of the
# VM's PID namespace) once the VM's file system view is set up (the host's read-only; /etc, /run, /tmp,
# /root, /home, /var/lib, /var/log, /var/tmp and /dev its own) and its capabilities are bounded. It starts
# a real sshd, brings the network up the way the guest's distribution does, says "booted", then reaps
# orphans until it is told to power off.
set -u
d=$1; flavour=$2
/usr/sbin/sshd -f /etc/ssh/sshd_config -E "$d/sshd.log"
if [ "$flavour" = rhel ]; then
  /etc/init.d/network start > "$d/boot-net.log" 2>&1
else
  ifup -a > "$d/boot-net.log" 2>&1
fi
echo booted > "$d/ready"
trap 'exit 0' TERM
while :; do sleep 86400 & wait $!; done
