"""Inventories: Ansible INI and YAML, CSV, variable precedence, --limit, and clear refusals."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workers.cli.inventory import InventoryError, expand_range, limit, load_inventory

INI = """\
# a comment
bastion ansible_host=10.0.0.1

[web]
web[01:03] ansible_user=deploy
db1 ansible_host=10.0.0.9 ansible_port=2222

[db]
db1 bulwark_host_key="ssh-ed25519 AAAAC3 db1"

[windows]
win1 ansible_host=10.0.1.1 ansible_port=5986

[windows:vars]
ansible_connection=winrm
ansible_winrm_transport=basic
bulwark_password_env=WIN_PASSWORD
ansible_winrm_ca_trust_path=/etc/ca.pem

[prod:children]
web
db

[prod:vars]
ansible_user=auditor
bulwark_known_hosts=/etc/known

[all:vars]
ansible_user=nobody
ansible_become=yes
"""

YAML = """\
all:
  vars:
    ansible_user: nobody
  hosts:
    bastion: {ansible_host: 10.0.0.1}
  children:
    prod:
      vars: {ansible_user: auditor}
      children:
        web:
          hosts:
            web[01:03]: {ansible_user: deploy}
            db1: {ansible_host: 10.0.0.9, ansible_port: 2222}
        db:
          hosts:
            db1:
    windows:
      vars: {ansible_connection: winrm, ansible_winrm_transport: basic,
             bulwark_password_env: WIN_PASSWORD, ansible_winrm_ca_trust_path: /etc/ca.pem}
      hosts:
        win1: {ansible_host: 10.0.1.1, ansible_port: 5986}
"""


@pytest.mark.parametrize(
    ("name", "text"), [("hosts.ini", INI), ("hosts.yml", YAML)], ids=["ini", "yaml"]
)
def test_ansible_inventories_give_hosts_groups_and_settings(
    tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    hosts = {h.name: h for h in load_inventory(str(path))}
    assert set(hosts) == {"bastion", "web01", "web02", "web03", "db1", "win1"}
    # Host vars win over the child group, which wins over its parent and over all.
    assert hosts["web02"].user == "deploy" and hosts["bastion"].user == "nobody"
    assert hosts["db1"].user == "auditor"
    assert (hosts["db1"].host, hosts["db1"].port) == ("10.0.0.9", 2222)
    assert set(hosts["db1"].groups) == {"web", "db", "prod"}
    assert hosts["web01"].connection == "ssh" and hosts["web01"].address == "web01"
    win = hosts["win1"]
    assert (win.connection, win.host, win.port) == ("winrm", "10.0.1.1", 5986)
    expected = {"winrm_auth": "basic", "password_env": "WIN_PASSWORD", "ca_file": "/etc/ca.pem"}
    assert dict(win.settings).items() >= expected.items()
    if name.endswith(".ini"):
        assert hosts["db1"].settings["host_key"] == "ssh-ed25519 AAAAC3 db1"
        assert hosts["web01"].settings["known_hosts"] == "/etc/known"
        assert hosts["bastion"].settings["sudo"] == "true"


def test_csv_inventory(tmp_path: Path) -> None:
    path = tmp_path / "hosts.csv"
    path.write_text(
        "name,host,port,user,connection,groups,key_file\n"
        "a,10.0.0.1,2200,root,,web prod,/k\n"
        "w,10.0.0.2,,admin,winrm,windows,\n"
    )
    a, w = load_inventory(str(path))
    assert (a.host, a.port, a.user, a.connection, a.groups) == (
        "10.0.0.1",
        2200,
        "root",
        "ssh",
        ("web", "prod"),
    )
    assert a.settings["key_file"] == "/k" and w.connection == "winrm" and w.port is None


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.ini", "[web]\nh1 ansible_password=secret\n", "a.ini:2: host h1: ansible_password"),
        ("a.ini", "[web\nh1\n", "a.ini:1: unclosed section"),
        ("a.ini", "h1 ansible_port=99999\n", "a.ini:1: host h1: bad ansible_port"),
        ("a.ini", "h1 ansible_connection=docker\n", "a.ini:1: host h1: ansible_connection"),
        (
            "a.ini",
            "h1 ansible_winrm_server_cert_validation=ignore\n",
            "certificate validation cannot be turned off",
        ),
        ("a.ini", 'h1 ansible_user="{{ vault_user }}"\n', "templates are not evaluated"),
        ("a.yml", "all:\n  hosts: [a, b]\n", "a.yml:1: group all: hosts must be a mapping"),
        ("a.yml", "all:\n  hostz: {}\n", "a.yml:1: group all: unknown keys hostz"),
        (
            "a.yml",
            "all:\n  children:\n    web:\n      hosts:\n"
            "        w1:\n        w2: {ansible_port: 0}\n",
            "a.yml:6: host w2: bad ansible_port",
        ),
        ("a.yml", "all:\n  vars: " + "[" * 70 + "]" * 70 + "\n", "a.yml:2: nested deeper than 64"),
        ("a.csv", "host,port\n1.2.3.4,22\n", "a.csv:1: the header needs 'name'"),
        ("a.csv", "name\nh\nh\n", "a.csv:3: host h is listed twice"),
    ],
)
def test_bad_inventories_are_refused_naming_file_line_and_setting(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InventoryError, match=re.escape(message)) as caught:
        load_inventory(str(path))
    assert "secret" not in str(caught.value)


def test_a_missing_inventory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InventoryError, match=r"nope\.ini: cannot read"):
        load_inventory(str(tmp_path / "nope.ini"))


def test_limit_patterns(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(INI)
    hosts = load_inventory(str(path))

    def names(pattern: str) -> list[str]:
        return sorted(h.name for h in limit(hosts, pattern))

    assert names("web") == ["db1", "web01", "web02", "web03"]
    assert names("web:!db") == ["web01", "web02", "web03"]
    assert names("prod:&db") == ["db1"]
    assert names("web0*,win1") == ["web01", "web02", "web03", "win1"]
    assert names("all:!prod") == ["bastion", "win1"]
    assert names("10.0.1.1") == ["win1"]
    assert names("nothing") == []


def test_host_ranges() -> None:
    assert expand_range("web[08:10].lan") == ["web08.lan", "web09.lan", "web10.lan"]
    assert expand_range("n[1:3]") == ["n1", "n2", "n3"]
    with pytest.raises(ValueError, match="bad host range"):
        expand_range("n[3:1]")
