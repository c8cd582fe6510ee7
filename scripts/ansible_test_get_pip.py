"""Offline stand-in for the "get-pip" script ansible-test downloads.

ansible-test creates its virtual environments without pip and bootstraps pip by
running a get-pip script, fetched from a host that is not reachable here unless
a copy is cached at ~/.ansible/test/cache/get_pip_<version>.py. scripts/test.sh
copies this file there, with a pip wheel beside it (`pip download`).

ansible-test runs it as `python get_pip.py [pip options] pip==<version> ... --no-setuptools --no-wheel`.
Like the real script, we run pip from a wheel on sys.path and `pip install` the
given arguments; without a wheel, ensurepip provides a pip to do the same.
"""

from __future__ import annotations

import glob
import os
import subprocess
import sys

# scripts/test.sh replaces cache files carrying this marker, and only those.
MARKER = "tines.cases ansible-test get-pip stand-in"

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    here = os.path.dirname(os.path.abspath(__file__))
    wheels = sorted(glob.glob(os.path.join(here, "pip-*.whl")))
    if wheels:
        sys.path.insert(0, wheels[-1])
        from pip._internal.cli.main import main as pip_main

        # --find-links: the wheel beside us is the pip to install, no download needed.
        return pip_main(["install", "--find-links", here] + args)
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    return subprocess.call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    sys.exit(main())
