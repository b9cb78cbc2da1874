"""Stand-in for ansible-test's pip bootstrap script, for machines without internet.

ansible-test downloads get-pip.py from ci-files.testing.ansible.com to give each
of its virtual environments pip; only the package registries are reachable
here. This does the same job from what Python ships (ensurepip) and the
package index: install pip, then pip-install the arguments ansible-test passes.
`make sanity` copies it to ~/.ansible/test/cache/get_pip_<version>.py.
"""

import subprocess
import sys

subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"], stdout=subprocess.DEVNULL)
# get-pip.py's own switches; plain pip does not know them (a venv has neither anyway).
ARGS = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", *ARGS])
