"""Stand-in for the get-pip.py that `ansible-test --venv` downloads from ci-files.testing.ansible.com.

ansible-test runs it in a new venv that has no pip, with pip's install arguments. That host is
not reachable from every build machine, so `make sanity` stores this script in ansible-test's
cache instead: it runs a copy of the toolchain venv's own pip (PIP_HOME, set by the Makefile
when it writes the copy), which then installs the pip version ansible-test asked for.
"""
import sys

PIP_HOME = "@PIP_HOME@"

if __name__ == "__main__":
    sys.path.insert(0, PIP_HOME)
    from pip._internal.cli.main import main

    # get-pip.py's own options: a venv from `python -m venv --without-pip` has neither anyway.
    args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
    sys.exit(main(["install", *args]))
