#!/bin/sh
# Debian packages the network-namespace lab, the SSH tests, the GLib keyfile and netplan generate checks and the HTML report's browser tests need (`make lab-deps`, run by `make test`).
# Installs only what is missing. Package scripts are not allowed to start services in the root
# namespace (openssh-server would start an sshd there): a temporary policy-rc.d says no.
set -eu
PKGS="golang-go golang-github-vmware-govmomi-dev python3-gi netplan.io iproute2 iputils-ping iputils-arping fping openssh-server openssh-client dnsmasq-base iptables ifupdown isc-dhcp-client util-linux procps psmisc sudo chromium chromium-driver fonts-dejavu-core"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "lab packages missing:$missing (run as root, or: sudo $0)" >&2
  exit 0   # not fatal: the tests that need them skip (and fail under CI=true)
fi
echo "installing:$missing"
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 755 "$policy" && made_policy=1
fi
trap '[ "$made_policy" = 1 ] && rm -f "$policy"' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing >/dev/null
