"""`labkit discover`: a starting inventory, with comments, from what is already there.

A user who has VMs in Workstation or vCenter, or hosts in an Ansible inventory, should not type
their names, MACs and networks again. Each reader asks one source, read-only (vmrest.py, vmx.py,
vsphere.py, ansible.py) and reports what it found in one neutral shape (found.py); compose.py
turns that into labkit's inventory by one set of rules (names, placeholders, comments, every
value held to labkit.model), and writer.py renders it, proves it reads back and passes labkit's
checks once its placeholders are filled, and writes it without replacing a file unasked.

What no source can know (the host's LAN address, the LAN, the guests' addressing, a Linux guest's
network dialect) is written as `<fill in>`, which `labkit check` refuses field by field, so an
unfinished inventory can never be run by mistake.

This package sits above the backends (it reads through their clients and parsers) and below the
CLI (cli.py is the `labkit discover` sub-app); no backend imports it.
"""
