"""vSphere (ESXi/vCenter) through pyvmomi: connection, lookups, NIC edits and task waiting.

pyvmomi is imported only in this package; labkit/hypervisor/vsphere.py puts the pieces behind the
Hypervisor protocol.
"""
