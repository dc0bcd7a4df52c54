"""The lab: SSH test hosts on this machine (network namespaces, each with its own /etc overlay
and sshd; needs root), a delay proxy that adds latency in front of one, and a transport that
runs commands inside a host's namespaces. Used by `make demo`, the tests and bench/; nothing
here imports the tests."""
