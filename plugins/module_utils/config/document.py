# -*- coding: utf-8 -*-
# Copyright: (c) 2026, homelab.litellm developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Internal to homelab.litellm, not a public API: config.yaml text <-> a round-trip document.

Pure functions, no ansible import and no I/O. ``parse_config`` keeps everything the operator
wrote (comments, key order, quoting, flow style such as the ``fallbacks`` line) and refuses what
LiteLLM could not load; ``render_config`` writes it back in the operator's indentation. The
comment helpers move the lines that follow a node together with its position, not its item.
"""

from __future__ import annotations

import hashlib
import io
import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass

try:
    from ruamel.yaml import YAML
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import CommentMark, YAMLError
    from ruamel.yaml.scalarbool import ScalarBoolean
    from ruamel.yaml.tokens import CommentToken
except ImportError:
    HAS_RUAMEL = False
    RUAMEL_IMPORT_ERROR = traceback.format_exc()
    YAML = CommentedMap = CommentedSeq = CommentMark = CommentToken = ScalarBoolean = None

    class YAMLError(Exception):
        """Stands in for ruamel.yaml's, which is missing (the modules report that first)."""

    class DuplicateKeyError(YAMLError):
        """Stands in for ruamel.yaml's, which is missing."""

else:
    HAS_RUAMEL = True
    RUAMEL_IMPORT_ERROR = None

try:
    import yaml as pyyaml
except ImportError:  # kubernetes needs PyYAML, so it is there wherever the modules can run
    HAS_PYYAML = False
else:
    HAS_PYYAML = True

CRASH = "LiteLLM exits at start-up on it and the pod goes into CrashLoopBackOff"

MAX_CONFIG_BYTES = 1024 * 1024
"""The most a config text may hold, in bytes (UTF-8): Kubernetes refuses a ConfigMap whose data is
larger (1 MiB), so a longer text cannot have been read from one, nor written to one."""

MAX_EXPANDED_NODES = 1000000
"""The most nodes a config may have with every YAML alias expanded. A 1 MiB text without aliases
holds at most about 524,000 (``[a,a,...]``, one per two bytes); this leaves room for anchors that
share litellm_params between entries, while an alias bomb (9 levels of 9 aliases: 387 million in
1 KB) is refused before a single object is built for it."""


class ConfigError(Exception):
    """The config or the request cannot be planned; ``errors`` says what and how to fix each part."""

    def __init__(self, errors):
        self.errors = list(errors)
        super().__init__("; ".join(self.errors))

    @property
    def messages(self):
        """The same list as ``errors``."""
        return self.errors


@dataclass(frozen=True)
class YamlStyle:
    """Indentation of a YAML text, so a rewrite looks like what the operator wrote.

    The defaults are the usual Kubernetes style (and the story's config): mappings indented by 2,
    list dashes indented by 2 under their key with the item content at 4.
    """

    mapping: int = 2
    sequence: int = 4
    offset: int = 2
    explicit_start: bool = False


# ---------------------------------------------------------------------------------------------
# YAML text <-> round-trip document
# ---------------------------------------------------------------------------------------------


def guess_yaml_style(text):
    """Guess the indentation of ``text`` (first nested mapping, first block list) as a ``YamlStyle``."""
    mapping = sequence = offset = None
    explicit_start = False
    parent_column = None  # column of the key of the previous line when that line ended with "key:"
    seen_content = False
    for raw in text.splitlines():
        stripped = raw.split(" #", 1)[0].strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not seen_content:
            seen_content = True
            if stripped == "---" or stripped.startswith("--- "):
                explicit_start = True
                continue
        indent = len(raw) - len(raw.lstrip(" "))
        key_column = indent
        if stripped.startswith("- "):
            content = stripped[2:].lstrip(" ")
            key_column = indent + len(stripped) - len(content)
            # a block list may start in the column of its key ("key:\n- item")
            if parent_column is not None and indent >= parent_column and sequence is None:
                offset = indent - parent_column
                sequence = key_column - parent_column
        elif parent_column is not None and indent > parent_column and mapping is None:
            mapping = indent - parent_column
        parent_column = key_column if stripped.endswith(":") else None
        if mapping is not None and sequence is not None:
            break
    default = YamlStyle()
    mapping = mapping or default.mapping
    if sequence is None:
        sequence, offset = default.sequence, default.offset
    return YamlStyle(mapping=mapping, sequence=sequence, offset=offset, explicit_start=explicit_start)


def _yaml(style):
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long lines (URLs, the flow-style fallbacks line)
    yaml.indent(mapping=style.mapping, sequence=style.sequence, offset=style.offset)
    yaml.explicit_start = style.explicit_start
    # Keep [{"a": ["b"]}] as written: by default ruamel drops the braces of single-key mappings
    # inside flow sequences, which would rewrite the operator's fallbacks line.
    yaml.brace_single_entry_mapping_in_flow_sequence = True
    return yaml


_DUPLICATE_KEY = re.compile(r'found duplicate key "(.*?)" with value')


def _duplicate_key_error(key, lines):
    # LiteLLM loads config.yaml with PyYAML's safe_load (proxy_server.py), which keeps the last of
    # two equal keys without a word: it starts, but not with what the first one says.
    return ConfigError(
        [
            "config.yaml has the key %r twice in one mapping (lines %s); LiteLLM reads it with PyYAML, which "
            "silently keeps only the last one; merge the two by hand" % (key, " and ".join(map(str, lines)))
        ]
    )


def _syntax_error(exc):
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = " at line %d, column %d" % (mark.line + 1, mark.column + 1) if mark is not None else ""
    problem = getattr(exc, "problem", None) or str(exc).strip().splitlines()[0]
    return ConfigError(["config.yaml is not valid YAML%s (%s); %s; fix the YAML by hand" % (where, problem, CRASH)])


def _checked_document(doc):
    """``doc`` when LiteLLM could start with it, else the ConfigError that says why not."""
    if doc is None:
        raise ConfigError(
            ["config.yaml holds only comments; %s; restore the config (at least a model_list) by hand" % CRASH]
        )
    if not isinstance(doc, Mapping):
        raise ConfigError(
            [
                "config.yaml must be a mapping at the top level (model_list, router_settings, ...), not a %s; "
                "%s; restore the config by hand" % (yaml_type(doc), CRASH)
            ]
        )
    errors = _model_list_errors(doc)
    if errors:
        raise ConfigError(errors)
    return doc


def _refuse_empty(text):
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(["config.yaml is empty; %s; restore the config (at least a model_list) by hand" % CRASH])


def _size_text(size):
    return "%d bytes (%.1f KiB), more than Kubernetes lets a ConfigMap hold (%d bytes, 1 MiB)" % (
        size,
        size / 1024.0,
        MAX_CONFIG_BYTES,
    )


def _refuse_oversized(text):
    """Refuse a text no ConfigMap can hold before any parser sees it (it came from elsewhere)."""
    size = len(text.encode("utf-8"))
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(
            ["config.yaml is %s: refused before it is read; restore the config by hand" % _size_text(size)]
        )


def config_size_errors(text):
    """Errors for a config text about to be written that no ConfigMap could hold ([] when it fits).

    The API server would refuse the write; saying so before it spares a half-done run. Other keys
    of the same ConfigMap count towards the limit too, so a text that fits may still be refused.
    """
    size = len(text.encode("utf-8"))
    if size <= MAX_CONFIG_BYTES:
        return []
    return [
        "config.yaml after the merge would be %s, so the API server would refuse the write; request "
        "fewer models or shorten the rest of the config" % _size_text(size)
    ]


def expanded_size(root, limit):
    """How many nodes the document of ``root`` has with every alias expanded, or ``limit + 1`` as
    soon as it is more than ``limit``.

    ``root`` is a composed node, PyYAML's or ruamel's (an alias is the anchored node object itself).
    Each node is counted once and its expanded size kept by identity, so the time is linear in the
    text, whatever the aliases would expand to. An alias inside its own anchor expands without end.
    Iterative, so that deep nesting does not hit the recursion limit.
    """
    if isinstance(root.value, str):
        return 1
    sizes = {}
    pending = {}  # id -> (own size and scalars, nested collections) of a node whose children are counted
    stack = [root]
    while stack:
        node = stack.pop()
        key = id(node)
        if key in sizes:
            continue
        if key in pending:
            total, nested = pending.pop(key)
            total += sum(sizes[id(child)] for child in nested)
            if total > limit:
                return limit + 1
            sizes[key] = total
            continue
        # Most nodes are scalars: counted here, without a round through the stack (a third of the time).
        total, nested = 1, []
        for item in node.value:  # a mapping's (key node, value node) pairs, a sequence's nodes
            for child in item if isinstance(item, tuple) else (item,):
                if isinstance(child.value, str):
                    total += 1
                elif child is node or id(child) in pending:  # an alias inside its own anchor
                    return limit + 1
                else:
                    nested.append(child)
        if nested:
            pending[key] = (total, nested)
            stack.append(node)
            stack.extend(nested)
        else:
            sizes[key] = total
    return sizes[id(root)]


def _refuse_alias_bomb(text, root):
    """Refuse a composed document that expands past ``MAX_EXPANDED_NODES``, before it is constructed.

    Without an anchor (``&``) and an alias (``*``) in the text nothing expands: the usual config
    costs two scans of the text, not a walk of its nodes.
    """
    if root is None or "&" not in text or "*" not in text:
        return
    if expanded_size(root, MAX_EXPANDED_NODES) > MAX_EXPANDED_NODES:
        raise ConfigError(
            [
                "config.yaml expands to more than %d nodes through YAML aliases (an alias bomb?): refused "
                "before it is read, since building or walking it takes gigabytes of memory; aliases for "
                "shared parts such as litellm_params are fine, nested ones that multiply are not; rewrite "
                "those by hand" % MAX_EXPANDED_NODES
            ]
        )


def _round_trip_load(text):
    """``YAML(typ="rt").load(text)`` in two steps, so that the aliases are counted in between."""
    yaml = _yaml(YamlStyle())
    root = yaml.compose(text)
    _refuse_alias_bomb(text, root)
    return yaml.constructor.construct_document(root) if root is not None else None


_TOO_DEEP = (
    "config.yaml nests mappings and lists deeper than a YAML reader goes: refused before it is read; "
    "no LiteLLM config needs that depth; restore the config by hand"
)


def parse_config(text):
    """Parse config.yaml into a round-trip ``CommentedMap`` (comments, order and quotes kept).

    Raises ``ConfigError`` for a key given twice in one mapping (LiteLLM would silently use the
    last) and everything that makes LiteLLM exit at start-up: bad YAML, an empty file,
    a top level that is not a mapping, a ``model_list`` that is not a list, an entry that is not a
    mapping or lacks ``model_name``, ``litellm_params`` or ``litellm_params.model``.
    """
    _refuse_empty(text)
    _refuse_oversized(text)
    try:
        doc = _round_trip_load(text)
    except DuplicateKeyError as exc:
        found = _DUPLICATE_KEY.search(getattr(exc, "problem", None) or "")
        raise _duplicate_key_error(
            found.group(1) if found else "?", [mark.line + 1 for mark in (exc.context_mark, exc.problem_mark) if mark]
        ) from None
    except YAMLError as exc:
        raise _syntax_error(exc) from None
    except RecursionError:
        raise ConfigError([_TOO_DEEP]) from None
    return _checked_document(doc)


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"

if HAS_PYYAML:
    _SafeLoader = getattr(pyyaml, "CSafeLoader", pyyaml.SafeLoader)

    class _PlainLoader(_SafeLoader):
        """PyYAML's safe loader (libyaml's parser when there is one) that refuses a key given twice."""

        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _value in node.value:
                if key_node.tag == _MERGE_TAG:
                    # "<<: *defaults" brings in keys the mapping's own may override, as PyYAML (and
                    # LiteLLM) reads it; the base class merges them, and has no constructor for "<<" itself.
                    continue
                # A plain string key is its own value: no need to construct it twice.
                if key_node.tag == _STR_TAG and isinstance(key_node, pyyaml.ScalarNode):
                    key = key_node.value
                else:
                    key = self.construct_object(key_node, deep=deep)
                try:
                    if key in seen:
                        raise _duplicate_key_error(key, [seen[key], key_node.start_mark.line + 1])
                    seen[key] = key_node.start_mark.line + 1
                except TypeError:  # an unhashable key: the base class reports it
                    break
            return super().construct_mapping(node, deep)


def _pyyaml_load(text, loader_class):
    """(document, root node) of ``text`` read with ``loader_class``: composed, its aliases counted,
    then constructed. Raises PyYAML's errors, and ConfigError for an alias bomb."""
    loader = loader_class(text)
    try:
        root = loader.get_single_node()
        _refuse_alias_bomb(text, root)
        return (loader.construct_document(root) if root is not None else None), root
    finally:
        loader.dispose()


def _read_plain(text):
    """(document, root node) of ``text`` with PyYAML, checked like ``parse_config``."""
    _refuse_empty(text)
    _refuse_oversized(text)
    try:
        doc, root = _pyyaml_load(text, _PlainLoader)
    except pyyaml.YAMLError as exc:
        raise _syntax_error(exc) from None
    except RecursionError:
        raise ConfigError([_TOO_DEEP]) from None
    return _checked_document(doc), root


def load_plain(text):
    """Plain data of config.yaml, read as LiteLLM reads it (PyYAML), fast: libyaml's parser when present.

    Refuses the same as ``parse_config``. About thirty times faster than the round trip on a large
    config, so that reading and deciding never pays for keeping comments; only writing does.
    """
    if not HAS_PYYAML:
        return plain(parse_config(text))
    return _read_plain(text)[0]


def read_back(text):
    """Plain data of ``text`` as LiteLLM reads it (PyYAML's safe loader, libyaml's parser when present),
    unchecked: for reading back text this collection wrote itself, which a plain read decides; None
    when it does not parse (a splice after an alias, whose node lies where its anchor is, can land
    in the wrong place).

    Only an alias bomb is refused (ConfigError); the size of a text to write is
    ``config_size_errors``' to judge, with a message about the write.
    """
    if not HAS_PYYAML:
        try:
            return plain(_round_trip_load(text))
        except YAMLError:
            return None
    try:
        return _pyyaml_load(text, _SafeLoader)[0]
    except pyyaml.YAMLError:
        return None


def load_lenient(text):
    """Plain data of any YAML text, unchecked; None when it does not parse (a digest still needs
    the references of a config LiteLLM would refuse), and when no ConfigMap could hold it or it is
    an alias bomb: its callers treat None as a config LiteLLM cannot load, which it is then too."""
    text = text or ""
    if config_size_errors(text):
        return None
    if HAS_PYYAML:
        try:
            return _pyyaml_load(text, _SafeLoader)[0]
        except (ConfigError, pyyaml.YAMLError, ValueError):
            return None
    try:
        return plain(_round_trip_load(text))
    except (ConfigError, YAMLError, ValueError):
        return None


def load_plain_with_ends(text):
    """``(load_plain(text), ends)``: where entries appended to the block collections the plan may
    extend go. ``ends`` maps ``model_list`` to ``model_list_end`` and ``model_group_retry_policy``
    to ``(line, column)`` of ``router_settings.model_group_retry_policy`` (``mapping_end``); None
    where the text cannot take an append there."""
    if not HAS_PYYAML:
        return plain(parse_config(text)), {"model_list": None, "model_group_retry_policy": None}
    doc, root = _read_plain(text)
    return doc, {
        "model_list": model_list_end(root),
        "model_group_retry_policy": mapping_end(root, ("router_settings", "model_group_retry_policy")),
    }


def _child(node, key):
    if isinstance(node, pyyaml.MappingNode):
        for key_node, value in node.value:
            if getattr(key_node, "value", None) == key:
                return value
    return None


def _content_end(node):
    """The line (0-based) after the last line of ``node``'s content; None after a block scalar, which
    takes the comment lines that follow it along (the round trip decides there)."""
    while isinstance(node, (pyyaml.MappingNode, pyyaml.SequenceNode)) and node.value and not node.flow_style:
        last = node.value[-1]
        node = last[1] if isinstance(last, tuple) else last
    if getattr(node, "style", None) in ("|", ">"):
        return None
    return node.end_mark.line + 1


def model_list_end(root):
    """The line (0-based) after the last line of the last ``model_list`` item's content, or None.

    ``root`` is the document's node as PyYAML composes it. Where appended entries go: after the
    last item, before the lines that follow it (comments, a blank line), as the round trip does.
    None when model_list is no non-empty block list, or its last value is a block scalar.
    """
    value = _child(root, "model_list")
    if not isinstance(value, pyyaml.SequenceNode) or value.flow_style or not value.value:
        return None
    return _content_end(value.value[-1])


def mapping_end(root, path):
    """``(line, column)`` for keys appended to the block mapping at ``path``: the line after its last
    content and the column of its keys. None when it is missing, empty or in flow style."""
    node = root
    for key in path:
        node = _child(node, key)
    if not isinstance(node, pyyaml.MappingNode) or node.flow_style or not node.value:
        return None
    end = _content_end(node)
    return None if end is None else (end, node.value[0][0].start_mark.column)


def yaml_type(value):
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, str):
        return "string"
    if value is None:
        return "null"
    return type(value).__name__


def _model_list_errors(doc):
    model_list = doc.get("model_list")
    if model_list is None:
        return []
    if not isinstance(model_list, list):
        return [
            "model_list is a %s, not a list; %s; write it as a list of entries ('- model_name: ...')"
            % (yaml_type(model_list), CRASH)
        ]
    errors = []
    for index, entry in enumerate(model_list):
        where = "model_list[%d]" % index
        if not isinstance(entry, Mapping):
            errors.append(
                "%s is a %s, not a mapping; %s; make it a mapping with model_name and litellm_params "
                "or remove it" % (where, yaml_type(entry), CRASH)
            )
            continue
        name = entry.get("model_name")
        if name is None or name == "":
            errors.append(
                "%s has no model_name; %s; add model_name (the name clients request) or remove the "
                "entry" % (where, CRASH)
            )
        elif not isinstance(name, str):
            errors.append("%s: model_name %r is a %s; quote it so it is a string" % (where, name, yaml_type(name)))
        else:
            where = "%s (model_name %r)" % (where, name)
        params = entry.get("litellm_params")
        if not isinstance(params, Mapping):
            errors.append(
                "%s has no litellm_params mapping; %s; add litellm_params with at least "
                "'model: <provider>/<model>' or remove the entry" % (where, CRASH)
            )
        elif not isinstance(params.get("model"), str) or not params.get("model"):
            errors.append(
                "%s has no litellm_params.model; %s; set it to the LiteLLM model string, e.g. "
                "'groq/llama-3.3-70b-versatile', or remove the entry" % (where, CRASH)
            )
    return errors


def render_config(doc, style=None):
    """Render a round-trip document back to YAML text in ``style`` (default ``YamlStyle()``)."""
    stream = io.StringIO()
    _yaml(style or YamlStyle()).dump(doc, stream)
    return stream.getvalue()


def config_digest(text):
    """sha256 hex digest of a config text, e.g. for a pod-template annotation that triggers a rollout."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------------------------
# Comments: ruamel keeps the lines that follow a block node (blank lines, the comment above the
# next list item or key) on the deepest last scalar of that node. When items are appended, removed
# or replaced, those lines must move with the position, not with the item.
# ---------------------------------------------------------------------------------------------


def _is_block_collection(node):
    return isinstance(node, (CommentedMap, CommentedSeq)) and len(node) > 0 and not node.fa.flow_style()


def _last_key(node):
    return next(reversed(node)) if isinstance(node, CommentedMap) else len(node) - 1


def _item_slot(container, key):
    """(container, key) of the ``ca.items`` entry holding the lines after ``container[key]``."""
    while _is_block_collection(container[key]):
        container = container[key]
        key = _last_key(container)
    return container, key


def _slot_entry(container, key):
    size, position = (4, 2) if isinstance(container, CommentedMap) else (2, 0)
    entry = container.ca.items.setdefault(key, [None] * size)
    return entry, position


def _take_item_comment(container, key):
    """Remove and return the comment lines after ``container[key]``, leaving its end-of-line comment."""
    entry, position = _slot_entry(*_item_slot(container, key))
    token = entry[position]
    if token is None:
        return ""
    end_of_line, _newline, following = token.value.partition("\n")
    if end_of_line:
        token.value = end_of_line + "\n"
    else:
        entry[position] = None
    return following


def _give_item_comment(container, key, lines):
    """Put comment ``lines`` (as returned by ``_take_item_comment``) after ``container[key]``."""
    if not lines:
        return
    entry, position = _slot_entry(*_item_slot(container, key))
    token = entry[position]
    if token is None:
        entry[position] = CommentToken("\n" + lines, CommentMark(0))
    else:
        token.value = token.value + lines


def take_trailing_comment(node):
    return _take_item_comment(node, _last_key(node)) if _is_block_collection(node) else ""


def give_trailing_comment(node, lines):
    if _is_block_collection(node):
        _give_item_comment(node, _last_key(node), lines)


def _comment_tokens(lines):
    tokens = []
    for line in lines.splitlines(True):
        text = line.lstrip(" ")
        tokens.append(CommentToken(text, CommentMark(len(line) - len(text))))
    return tokens


def _put_comment_before_first_item(parent, key, lines):
    """Comments above the first item of ``parent[key]`` live on the parent's key entry."""
    entry, _slot = _slot_entry(parent, key)
    entry[3] = (entry[3] or []) + _comment_tokens(lines)


def _put_comment_after_key(mapping, key, lines):
    """Put ``lines`` after ``mapping[key]`` when its value is empty (then rendered in flow style)."""
    keys = list(mapping)
    position = keys.index(key)
    # ruamel cannot place a comment after an empty last value of the document: there the lines are
    # dropped (only when every entry of a model_list at the end of the file was removed).
    if position + 1 < len(keys):
        entry, _slot = _slot_entry(mapping, keys[position + 1])
        entry[1] = _comment_tokens(lines) + (entry[1] or [])


def remove_list_item(parent, key, index):
    """Delete ``parent[key][index]`` and keep the comment lines that followed it."""
    items = parent[key]
    lines = _take_item_comment(items, index)
    del items[index]
    if not lines:
        return
    if index > 0:
        _give_item_comment(items, index - 1, lines)
    elif len(items):
        _put_comment_before_first_item(parent, key, lines)
    else:
        _put_comment_after_key(parent, key, lines)


def remove_mapping_key(mapping, key):
    """Delete ``mapping[key]`` and hand the comment lines that followed it to the previous key."""
    keys = list(mapping)
    lines = _take_item_comment(mapping, key)
    del mapping[key]
    position = keys.index(key)
    if lines and position > 0:
        _give_item_comment(mapping, keys[position - 1], lines)


def replace_value(mapping, key, value):
    lines = _take_item_comment(mapping, key)
    mapping[key] = to_node(value)
    _give_item_comment(mapping, key, lines)


def append_to_mapping(mapping, key, value):
    lines = take_trailing_comment(mapping)
    mapping[key] = to_node(value)
    give_trailing_comment(mapping, lines)


def to_node(value):
    """Plain data -> ruamel nodes in block style."""
    if isinstance(value, Mapping):
        node = CommentedMap()
        for key, item in value.items():
            node[key] = to_node(item)
        return node
    if isinstance(value, (list, tuple)):
        return CommentedSeq(to_node(item) for item in value)
    return value


# ---------------------------------------------------------------------------------------------
# Plain data and comparison
# ---------------------------------------------------------------------------------------------


def plain(node):
    """ruamel nodes -> plain dict/list/str/int/float/bool, for comparison."""
    if isinstance(node, Mapping):
        return {plain(key): plain(value) for key, value in node.items()}
    if isinstance(node, (list, tuple)):
        return [plain(item) for item in node]
    if isinstance(node, bool):
        return node
    if HAS_RUAMEL and isinstance(node, ScalarBoolean):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def same(left, right):
    """Semantic equality of plain data; unlike ``==`` it keeps True apart from 1."""
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(same(left[key], right[key]) for key in left)
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right))
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, (Mapping, list, tuple)) or isinstance(right, (Mapping, list, tuple)):
        return False
    return left == right


def sync_mapping(target, desired, delete_missing):
    """Make ``target`` (a CommentedMap) equal ``desired`` in place, keeping comments and key order.

    Nested mappings are updated key by key, other values replaced, new keys appended at the end;
    keys missing from ``desired`` are deleted only when ``delete_missing``.
    """
    stale = [key for key in target if key not in desired] if delete_missing else []
    for key in stale:
        remove_mapping_key(target, key)
    for key, value in desired.items():
        if key not in target:
            append_to_mapping(target, key, value)
            continue
        current = target[key]
        if isinstance(current, CommentedMap) and isinstance(value, Mapping):
            # Flow-style mappings too: merged key by key, the operator's other keys stay.
            sync_mapping(current, value, delete_missing)
        elif not same(plain(current), plain(value)):
            replace_value(target, key, value)
