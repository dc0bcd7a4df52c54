"""The test-host harness: sshd targets in namespaces on this machine (see DESIGN.md "Test hosts").

`harness` starts and stops hosts, `delay_proxy` adds latency in front of one, `fixtures` is the
pytest plugin (`test_hosts`). Imported as `tests.hosts` by tests and by bench/.
"""
