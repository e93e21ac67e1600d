"""A local VMware-like lab of Linux network namespaces: real sshd, DHCP, NAT, bridges and ping.

plan.py derives every namespace, link and address from an inventory (pure); lab.py builds and
tears it down with iproute2, iptables and dnsmasq; nsexec.py enters namespaces (sockets for SSH,
the out-of-band console). hypervisor/netns.py puts the Hypervisor protocol on top.
"""
