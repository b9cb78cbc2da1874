# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: write the files ``litellm_apply_mode: render`` rendered.

Used by litellm_apply's action plugin, on the controller, where the operator's Git checkout is. The
texts come from ``config.render.render_files``, which refuses any text holding a secret value; here
each file is replaced atomically (temporary file in the same directory, then rename: a reader, or
``git add``, never sees half a file) and only when its text or mode differs.
"""

from __future__ import annotations

import os
import tempfile

FILE_MODE = 0o644
DIRECTORY_MODE = 0o755


def _current(path):
    """(text, mode) of the file at ``path``; (None, None) when there is none."""
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read(), os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return None, None


def _replace(path, text, mode):
    directory = os.path.dirname(path)
    descriptor, temporary = tempfile.mkstemp(prefix=".litellm-render-", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def write_files(directory, files, check_mode=False, mode=FILE_MODE):
    """Write ``files`` ({name: text}) under ``directory``; one entry per file, sorted by name:
    ``{name, path, changed, before, after}`` (``before`` is None for a new file).

    The directory is created when missing (not in check mode). In check mode nothing is written and
    ``changed`` says what would change.
    """
    directory = os.path.abspath(os.path.expanduser(directory))
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise OSError("%s exists and is not a directory" % directory)
    written = []
    for name in sorted(files):
        if os.path.basename(name) != name or name in ("", ".", ".."):
            raise ValueError("a rendered file name must be a plain file name, not %r" % name)
        path = os.path.join(directory, name)
        before, current_mode = _current(path)
        changed = before != files[name] or current_mode != mode
        if changed and not check_mode:
            if not os.path.isdir(directory):
                os.makedirs(directory, DIRECTORY_MODE)
            _replace(path, files[name], mode)
        written.append({"name": name, "path": path, "changed": changed, "before": before, "after": files[name]})
    return written


def diffs_of(written):
    """Ansible's diff list for the files that change (their whole text: it holds no secret)."""
    return [
        {
            "before": entry["before"] or "",
            "after": entry["after"],
            "before_header": entry["path"] if entry["before"] is not None else "%s (new file)" % entry["path"],
            "after_header": entry["path"],
        }
        for entry in written
        if entry["changed"]
    ]
