"""The guest channels every backend shares: SSH (through bastions, with sudo), the local machine, and the fallback from one to the other."""
