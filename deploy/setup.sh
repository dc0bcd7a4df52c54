#!/bin/sh
# Installs what Bulwark needs on a Debian 12 machine: Debian packages (as root), then a
# virtualenv in .venv with the pinned Python dependencies. Safe to run again.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

# python3-venv for the virtualenv; openssh-server, sudo, iproute2 and procps for the SSH test
# hosts (network namespaces running their own sshd); util-linux gives unshare and mount.
# chromium and chromium-driver run the browser tests of the web pages (headless, through the
# system chromedriver); poppler-utils (pdftotext) lets a person or a test read a PDF report.
# ansible-core runs the generated remediation playbooks against test hosts in the proof tests.
# gettext compiles the translations; fonts-ipafont-gothic draws Japanese pages in the browser.
# dpkg-dev (dpkg-scanpackages) indexes the local package repository the remediation proof's
# test hosts install from (lab/apt_repo.py).
packages="python3 python3-venv python3-dev openssh-server openssh-client sudo openssl iproute2 procps util-linux make chromium chromium-driver poppler-utils ansible-core gettext fonts-ipafont-gothic dpkg-dev"
missing=""
for package in $packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages:$missing (run as root to install them)" >&2
  else
    echo "setup: installing$missing"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
  fi
fi

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
.venv/bin/pip install --quiet --disable-pip-version-check --no-deps -r requirements-trestle.txt
# platform/ is a source root (not a package): put it on the virtualenv's path, after the
# standard library, so tools that import `bulwark` (lint-imports, celery, gunicorn) find it.
site=$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$(pwd)/platform" > "$site/bulwark-platform.pth"
