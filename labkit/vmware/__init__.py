"""VMware Workstation's own formats and API: .vmx files, the host's networking files, vmrest."""
