"""A guest's network configuration through a transport: config.py (read, edit, write), detect.py
(which dialect a guest speaks), safeapply.py (change it without stranding the guest)."""
