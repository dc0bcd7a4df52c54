"""The test-host harness: sshd targets in namespaces on this machine (CONTRIBUTING.md, "Test
layers").

The hosts themselves are the lab's (`lab/harness.py`, shared with `make demo`); `fixtures` is
the pytest plugin (`test_hosts`). Windows hosts are simulated: `winrm_server` speaks WS-Management
to pywinrm and answers the PowerShell collector from a `windows_machine` fixture
(`windows_fixtures/`); `winrm_fixtures` is its pytest plugin. Imported as `tests.hosts` by
tests and by bench/.
"""
