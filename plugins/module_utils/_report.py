# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: write a run report file, atomically.

Used by the litellm_report module and by its action plugin, which writes on the controller without
starting a module (a run with nothing to do then costs one module invocation less).
"""

from __future__ import annotations

import json
import os
import tempfile


def file_mode(mode):
    """A file mode from what a playbook gives: '0600' (octal text) or 0600 unquoted (YAML reads it as the
    number 384 already)."""
    if isinstance(mode, int) and not isinstance(mode, bool):
        number = mode
    else:
        try:
            number = int(str(mode), 8)
        except ValueError:
            raise ValueError("mode must be a file mode such as '0600', not %r" % (mode,))
    if not 0 <= number <= 0o7777:
        raise ValueError("mode must be a file mode such as '0600', not %r" % (mode,))
    return number


def report_text(content):
    """The report as it is written: indented JSON, keys sorted, ending in a newline."""
    return json.dumps(content, indent=2, sort_keys=True, default=str) + "\n"


def write_report(path, content, mode=0o600, check_mode=False):
    """Write ``content`` as JSON to ``path`` unless it already holds exactly that; True when it changed.

    The file is replaced atomically (a reader never sees half a report) and gets ``mode``.
    """
    text = report_text(content)
    try:
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text and (os.stat(path).st_mode & 0o777) == mode:
                return False
    except OSError:
        pass
    if check_mode:
        return True
    directory = os.path.dirname(os.path.abspath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=".litellm-report-", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
    return True
