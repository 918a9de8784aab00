"""The only network, process and file code: SSH (the HAProxy port), HTTP probes, GitHub, git objects, files."""
