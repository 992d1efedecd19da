"""PATCH bodies of the ProvMnS resources: JSON Patch (RFC 6902) and JSON Merge Patch (RFC 7396).

TS 28.532 ProvMnS PATCH accepts ``application/json-patch+json`` and ``application/3gpp-json-patch+json``
(a list of ``{op, path, value, from}`` items) and ``application/merge-patch+json`` /
``application/3gpp-merge-patch+json`` (an object merged into the resource). Both apply to the MOI's
JSON document ``{id, objectClass, attributes: {...}}``; the caller validates the result again as a
whole, so a patch can never bypass a model rule.

>>> doc = {"attributes": {"a": [{"x": 1}]}}
>>> apply_json_patch(doc, [{"op": "replace", "path": "/attributes/a/0/x", "value": 2}])
{'attributes': {'a': [{'x': 2}]}}
>>> merge_patch(doc, {"attributes": {"b": 3, "a": None}})
{'attributes': {'b': 3}}
"""

from __future__ import annotations

import copy
from typing import Any

from netslice.errors import ConfigError, ConflictError

#: Media types of the two patch formats (a plain ``application/json`` body is told apart by its shape).
JSON_PATCH_TYPES = ("application/json-patch+json", "application/3gpp-json-patch+json")
MERGE_PATCH_TYPES = ("application/merge-patch+json", "application/3gpp-merge-patch+json")
_OPS = ("add", "remove", "replace", "move", "copy", "test")
_ITEM_KEYS = {"op", "path", "value", "from"}


def _tokens(pointer: str, where: str) -> list[str]:
    """The reference tokens of a JSON Pointer (RFC 6901)."""
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise ConfigError(f"{where}: a JSON Pointer must start with '/', got {pointer!r}")
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _index(container: list[Any], token: str, where: str, *, append: bool = False) -> int:
    if append and token == "-":
        return len(container)
    if not token.isdigit() or (len(token) > 1 and token.startswith("0")):
        raise ConfigError(f"{where}: {token!r} is not an array index")
    i = int(token)
    if i > len(container) or (i == len(container) and not append):
        raise ConfigError(f"{where}: index {i} is out of range (array of {len(container)})")
    return i


def _parent(doc: Any, tokens: list[str], where: str) -> Any:
    node = doc
    for token in tokens[:-1]:
        if isinstance(node, dict):
            if token not in node:
                raise ConfigError(f"{where}: /{token} does not exist")
            node = node[token]
        elif isinstance(node, list):
            node = node[_index(node, token, where)]
        else:
            raise ConfigError(f"{where}: cannot descend into a {type(node).__name__} at {token!r}")
    return node


def _get(doc: Any, pointer: str, where: str) -> Any:
    tokens = _tokens(pointer, where)
    if not tokens:
        return doc
    parent, last = _parent(doc, tokens, where), tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise ConfigError(f"{where}: {pointer} does not exist")
        return parent[last]
    if isinstance(parent, list):
        return parent[_index(parent, last, where)]
    raise ConfigError(f"{where}: {pointer} does not exist")


def _remove(doc: Any, pointer: str, where: str) -> Any:
    tokens = _tokens(pointer, where)
    if not tokens:
        raise ConfigError(f"{where}: cannot remove the whole document")
    parent, last = _parent(doc, tokens, where), tokens[-1]
    if isinstance(parent, dict):
        if last not in parent:
            raise ConfigError(f"{where}: {pointer} does not exist")
        return parent.pop(last)
    if isinstance(parent, list):
        return parent.pop(_index(parent, last, where))
    raise ConfigError(f"{where}: {pointer} does not exist")


def _add(doc: Any, pointer: str, value: Any, where: str, *, replace: bool = False) -> Any:
    tokens = _tokens(pointer, where)
    if not tokens:
        return value
    parent, last = _parent(doc, tokens, where), tokens[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise ConfigError(f"{where}: {pointer} does not exist (use op 'add' to create it)")
        parent[last] = value
    elif isinstance(parent, list):
        if replace:
            parent[_index(parent, last, where)] = value
        else:
            parent.insert(_index(parent, last, where, append=True), value)
    else:
        raise ConfigError(f"{where}: cannot set {pointer} inside a {type(parent).__name__}")
    return doc


def apply_json_patch(document: Any, patch: Any) -> Any:
    """Apply an RFC 6902 JSON Patch to a copy of ``document``.

    Args:
        document: the JSON document (not modified).
        patch: the decoded patch, a list of ``{op, path, value, from}`` objects.

    Returns:
        The patched copy.

    Raises:
        ConfigError: a malformed item, an unknown op or a path that does not exist (naming ``patch[i]``).
        ConflictError: a ``test`` item failed.
    """
    if not isinstance(patch, list):
        raise ConfigError(f"body: a JSON Patch must be an array of operations, got {type(patch).__name__}")
    doc = copy.deepcopy(document)
    for i, item in enumerate(patch):
        where = f"patch[{i}]"
        if not isinstance(item, dict):
            raise ConfigError(f"{where}: must be an object {{op, path, value}}, got {type(item).__name__}")
        unknown = sorted(set(item) - _ITEM_KEYS)
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: op, path, value, from")
        op, path = item.get("op"), item.get("path")
        if op not in _OPS:
            raise ConfigError(f"{where}.op: must be one of {', '.join(_OPS)}, got {op!r}")
        if not isinstance(path, str):
            raise ConfigError(f"{where}.path: must be a JSON Pointer string, got {path!r}")
        if op in ("add", "replace", "test") and "value" not in item:
            raise ConfigError(f"{where}.value: required for op {op!r}")
        if op in ("move", "copy") and not isinstance(item.get("from"), str):
            raise ConfigError(f"{where}.from: a JSON Pointer string is required for op {op!r}")
        where = f"{where}.path"
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(item["value"]), where)
        elif op == "replace":
            doc = _add(doc, path, copy.deepcopy(item["value"]), where, replace=True)
        elif op == "remove":
            _remove(doc, path, where)
        elif op == "test":
            if _get(doc, path, where) != item["value"]:
                raise ConflictError(f"{where}: test failed, {path} is not {item['value']!r}")
        elif op == "copy":
            doc = _add(doc, path, copy.deepcopy(_get(doc, item["from"], f"patch[{i}].from")), where)
        else:  # move
            if path.startswith(item["from"] + "/"):
                raise ConfigError(f"{where}: cannot move {item['from']} into itself")
            doc = _add(doc, path, _remove(doc, item["from"], f"patch[{i}].from"), where)
    return doc


def merge_patch(target: Any, patch: Any) -> Any:
    """Apply an RFC 7396 JSON Merge Patch (``null`` deletes a key; arrays are replaced whole); returns a copy."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def apply_patch(document: Any, body: Any, content_type: str | None) -> Any:
    """Apply a PATCH body by its media type (a plain ``application/json`` body: a list is a JSON Patch).

    Raises:
        ConfigError: the body does not fit its media type, or the patch is invalid.
        ConflictError: a JSON Patch ``test`` failed.
    """
    media = (content_type or "application/json").split(";")[0].strip().lower()
    if media in JSON_PATCH_TYPES or (media not in MERGE_PATCH_TYPES and isinstance(body, list)):
        return apply_json_patch(document, body)
    if not isinstance(body, dict):
        raise ConfigError(f"body: a merge patch ({media}) must be a JSON object, got {type(body).__name__}")
    return merge_patch(document, body)
