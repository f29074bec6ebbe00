"""Load and validate YAML codebooks (format: docs/codebook.md).

Validation walks the YAML node tree rather than the loaded data so that every problem can be
reported at once with its path and line (``codes -> 3 (verkostot) -> keywords -> 2 (line 41)``),
and so that duplicate keys, which PyYAML would silently merge, are caught.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qualcode.errors import CodebookError

ID_RE = re.compile(r"^[a-z][a-z0-9_]*$")
INDICATORS = {
    "maturity": ("starting", "developing", "established"),
    "leadership": ("city", "company", "education"),
}
_TOP_KEYS = {"name", "version", "language", "description", "codes", "report"}
# Report sections that draw on a chosen set of codes (besides one section per theme).
REPORT_SECTIONS = (
    "cooperation",
    "development",
    "missing_actors",
    # The strategy inputs: what exists (strengths, structures) and the measures proposed.
    "strengths",
    "structures",
    "needs",
    "measures",
)
_CODE_KEYS = {
    "id",
    "label",
    "labels",
    "parent",
    "definition",
    "include",
    "exclude",
    "examples",
    "indicator",
    "codable",
    "keywords",
    "phrases",
    "exclude_keywords",
    "exclude_phrases",
    "min_hits",
}
_LANGUAGES = {"fi"}
_MAX_GAP = 10


@dataclass(frozen=True)
class Keyword:
    word: str
    compounds: bool = True

    def describe(self) -> str:
        return self.word if self.compounds else f"{self.word} (no compounds)"


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    gap: int = 0

    def describe(self) -> str:
        text = " ".join(self.words)
        return f"{text} (gap {self.gap})" if self.gap else text


@dataclass(frozen=True)
class Code:
    id: str
    label: str
    parent: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    definition: str = ""
    include: str = ""
    exclude: str = ""
    examples: tuple[str, ...] = ()
    indicator: tuple[str, str] | None = None
    codable: bool = True
    keywords: tuple[Keyword, ...] = ()
    phrases: tuple[Phrase, ...] = ()
    exclude_keywords: tuple[Keyword, ...] = ()
    exclude_phrases: tuple[Phrase, ...] = ()
    min_hits: int = 1

    @property
    def rule_count(self) -> int:
        return len(self.keywords) + len(self.phrases)

    def label_in(self, lang: str) -> str:
        return dict(self.labels).get(lang, self.label)


@dataclass(frozen=True)
class Codebook:
    name: str
    version: str
    language: str
    codes: tuple[Code, ...]
    description: str = ""
    source: str = ""
    report: tuple[tuple[str, tuple[str, ...]], ...] = ()
    _by_id: dict[str, Code] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_id.update({c.id: c for c in self.codes})

    def get(self, code_id: str) -> Code | None:
        return self._by_id.get(code_id)

    def __contains__(self, code_id: object) -> bool:
        return code_id in self._by_id

    def children(self, code_id: str | None) -> list[Code]:
        return [c for c in self.codes if c.parent == code_id]

    def theme_of(self, code_id: str) -> str:
        """The top-level ancestor (the theme) of a code."""
        code = self._by_id[code_id]
        while code.parent is not None:
            code = self._by_id[code.parent]
        return code.id

    def walk(self) -> Iterator[tuple[int, Code]]:
        """Codes in tree order with their depth (themes are depth 0)."""

        def visit(parent: str | None, depth: int) -> Iterator[tuple[int, Code]]:
            for code in self.children(parent):
                yield depth, code
                yield from visit(code.id, depth + 1)

        yield from visit(None, 0)

    def to_dict(self) -> dict[str, Any]:
        def rules(items: tuple[Keyword, ...] | tuple[Phrase, ...]) -> list[Any]:
            out: list[Any] = []
            for item in items:
                if isinstance(item, Keyword):
                    out.append(
                        item.word if item.compounds else {"word": item.word, "compounds": False}
                    )
                else:
                    text = " ".join(item.words)
                    out.append({"words": text, "gap": item.gap} if item.gap else text)
            return out

        codes = []
        for c in self.codes:
            entry: dict[str, Any] = {"id": c.id, "label": c.label}
            optional: dict[str, Any] = {
                "parent": c.parent,
                "labels": dict(c.labels) or None,
                "definition": c.definition,
                "include": c.include,
                "exclude": c.exclude,
                "examples": list(c.examples),
                "indicator": {c.indicator[0]: c.indicator[1]} if c.indicator else None,
                "codable": None if c.codable else False,
                "keywords": rules(c.keywords),
                "phrases": rules(c.phrases),
                "exclude_keywords": rules(c.exclude_keywords),
                "exclude_phrases": rules(c.exclude_phrases),
                "min_hits": c.min_hits if c.min_hits != 1 else None,
            }
            entry.update({k: v for k, v in optional.items() if v or v is False})
            codes.append(entry)
        out: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "language": self.language,
            "description": self.description,
            "codes": codes,
        }
        if self.report:
            out["report"] = {k: list(v) for k, v in self.report}
        return out

    def report_codes(self, section: str) -> tuple[str, ...]:
        """The codes a report section draws on (``cooperation``, ``development``, ...)."""
        return dict(self.report).get(section, ())

    @property
    def digest(self) -> str:
        """Hash of the codebook's meaning (not its comments or layout)."""
        canonical = json.dumps(self.to_dict(), sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


# --- loading --------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.items: list[tuple[int, str, str]] = []

    def add(self, path: str, node: Any, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 0
        location = f"{path} (line {line})" if line else path
        self.items.append((line, location, message))


def load_codebook(path: Path) -> Codebook:
    """Read and validate a codebook file; raise ``CodebookError`` listing every problem."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise CodebookError(str(path), [("file", f"cannot read ({exc.strerror})")]) from None
    except UnicodeDecodeError:
        raise CodebookError(str(path), [("file", "is not UTF-8 text")]) from None
    return parse_codebook(text, str(path))


def parse_codebook(text: str, source: str = "<codebook>") -> Codebook:
    import yaml  # only when a codebook is read

    try:
        # The C loader (libyaml) when available: parsing is most of loading a codebook.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        root = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        problem = getattr(exc, "problem", None) or str(exc)
        raise CodebookError(source, [(where, f"invalid YAML: {problem}")]) from None
    except RecursionError:
        raise CodebookError(source, [("file", "invalid YAML: nested too deeply")]) from None
    problems = _Problems()
    # Tags the safe loader has no constructor for (``!foo``, ``!!python/name:os.system``) are
    # never executed, but constructing them raised a bare ConstructorError: name them instead.
    _check_tags(root, problems)
    if problems.items:
        ordered = sorted(problems.items, key=lambda p: p[0])
        raise CodebookError(source, [(loc, msg) for _, loc, msg in ordered])
    codebook = _build(root, problems, source)
    if problems.items or codebook is None:
        ordered = sorted(problems.items, key=lambda p: p[0])
        raise CodebookError(source, [(loc, msg) for _, loc, msg in ordered])
    return codebook


def _check_tags(root: Any, problems: _Problems) -> None:
    """One problem per node whose tag the safe loader cannot construct, with its path."""
    import yaml

    known = {tag for tag in yaml.SafeLoader.yaml_constructors if tag is not None}
    if root is None or not _has_unusual_tag(root, known):
        return
    seen: set[int] = set()
    # A stack, not recursion, and each node once: anchors and aliases can share nodes (or make
    # a cycle), and a "billion laughs" document must not make the walk explode.
    stack: list[tuple[str, Any]] = [("", root)] if root is not None else []
    while stack:
        path, node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        shown = node.tag.replace("tag:yaml.org,2002:", "!!")
        if node.tag not in known:
            problems.add(
                path or "top level",
                node,
                f"unsupported YAML tag '{shown}'; write the value as plain text",
            )
            continue
        if isinstance(node, yaml.ScalarNode) and node.tag != "tag:yaml.org,2002:str":
            try:
                yaml.constructor.SafeConstructor().construct_object(node)
            except Exception:  # the constructors fail in assorted ways on bad input
                # "!!int abc", "!!timestamp foo": a known tag on a value it cannot read.
                problems.add(
                    path or "top level", node, f"'{node.value}' is not a valid {shown} value"
                )
            continue
        children: list[tuple[str, Any]] = []
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                name = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else "?"
                children.append((f"{path} -> {name}" if path else name, key_node))
                children.append((f"{path} -> {name}" if path else name, value_node))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value, start=1):
                children.append((f"{path} -> {i}{_code_id(path, item)}", item))
        stack.extend(reversed(children))


def _has_unusual_tag(root: Any, known: set[str]) -> bool:
    """Whether any node has a tag _check_tags would report (the quick, common-case pass)."""
    import yaml

    plain = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        tag = node.tag
        if tag not in plain:
            if tag not in known or not isinstance(node, yaml.ScalarNode):
                return True
            try:
                yaml.constructor.SafeConstructor().construct_object(node)
            except Exception:  # reported, with its path, by _check_tags
                return True
            continue
        value = node.value
        if isinstance(value, list):
            for item in value:
                if isinstance(item, tuple):
                    stack.extend(item)
                else:
                    stack.append(item)
    return False


def _code_id(path: str, node: Any) -> str:
    """`` (id)`` for an entry of the top-level code list, as the other problems name codes."""
    import yaml

    if path != "codes" or not isinstance(node, yaml.MappingNode):
        return ""
    for key_node, value_node in node.value:
        if (
            getattr(key_node, "value", None) == "id"
            and isinstance(value_node, yaml.ScalarNode)
            and value_node.tag == "tag:yaml.org,2002:str"
            and ID_RE.match(value_node.value)
        ):
            return f" ({value_node.value})"
    return ""


def _mapping(node: Any, path: str, problems: _Problems) -> dict[str, tuple[Any, Any]] | None:
    import yaml

    if not isinstance(node, yaml.MappingNode):
        problems.add(path, node, "must be a mapping (key: value)")
        return None
    out: dict[str, tuple[Any, Any]] = {}
    for key_node, value_node in node.value:
        key = key_node.value
        if key in out:
            problems.add(f"{path} -> {key}", key_node, "key appears twice")
        out[key] = (key_node, value_node)
    return out


def _scalar(node: Any) -> Any:
    """The value of a node, resolved the way the safe loader would (bool, int, float, null,
    str, and lists or mappings of them)."""
    import yaml

    if node is None:
        return None
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:str":
        return node.value
    # Constructing from the node itself: re-serialising and re-parsing it took most of the
    # time of loading a codebook.
    return yaml.constructor.SafeConstructor().construct_object(node, deep=True)


def _string(node: Any, path: str, problems: _Problems, *, required: bool = False) -> str:
    import yaml

    if not isinstance(node, yaml.ScalarNode) or (value := _scalar(node)) is None:
        if required or (node is not None and not isinstance(node, yaml.ScalarNode)):
            problems.add(path, node, "must be text")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        problems.add(path, node, "must be text")
        return ""
    return str(value).strip()


def _known_keys(
    mapping: dict[str, tuple[Any, Any]], allowed: set[str], path: str, problems: _Problems
) -> None:
    import difflib

    for key, (key_node, _) in mapping.items():
        if key not in allowed:
            close = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ""
            problems.add(f"{path} -> {key}" if path else key, key_node, f"unknown key{hint}")


def _build(root: Any, problems: _Problems, source: str) -> Codebook | None:
    import yaml

    if root is None:
        problems.add("file", None, "the codebook is empty")
        return None
    top = _mapping(root, "top level", problems)
    if top is None:
        return None
    _known_keys(top, _TOP_KEYS, "", problems)
    for key in ("name", "version", "language", "codes"):
        if key not in top:
            problems.add(key, root, "required key is missing")
    name = _string(top["name"][1], "name", problems, required=True) if "name" in top else ""
    version = (
        _string(top["version"][1], "version", problems, required=True) if "version" in top else ""
    )
    language = "fi"
    if "language" in top:
        node = top["language"][1]
        language = _string(node, "language", problems, required=True)
        if language and language not in _LANGUAGES:
            problems.add("language", node, f"unsupported language '{language}' (use: fi)")
    description = (
        _string(top["description"][1], "description", problems) if "description" in top else ""
    )
    codes: list[Code] = []
    if "codes" in top:
        codes_node = top["codes"][1]
        if not isinstance(codes_node, yaml.SequenceNode) or not codes_node.value:
            problems.add("codes", codes_node, "must be a non-empty list of codes")
        else:
            entries = []
            for i, node in enumerate(codes_node.value, start=1):
                code = _code(node, i, problems)
                if code is not None:
                    codes.append(code)
                    entries.append((i, code, node))
            _check_tree(entries, problems)
    report = _report(top.get("report"), {c.id for c in codes}, problems)
    return Codebook(name, version, language, tuple(codes), description, source, report)


def _report(
    entry: tuple[Any, Any] | None, ids: set[str], problems: _Problems
) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if entry is None:
        return ()
    fields = _mapping(entry[1], "report", problems)
    if fields is None:
        return ()
    _known_keys(fields, set(REPORT_SECTIONS), "report", problems)
    out = []
    for section in REPORT_SECTIONS:
        if section not in fields:
            continue
        codes = _string_list(fields[section], f"report -> {section}", problems)
        for i, code in enumerate(codes, start=1):
            if code not in ids:
                problems.add(
                    f"report -> {section} -> {i}", fields[section][1], f"unknown code '{code}'"
                )
        out.append((section, tuple(codes)))
    return tuple(out)


def _code(node: Any, index: int, problems: _Problems) -> Code | None:
    base = f"codes -> {index}"
    fields = _mapping(node, base, problems)
    if fields is None:
        return None
    code_id = ""
    if "id" in fields:
        code_id = _string(fields["id"][1], f"{base} -> id", problems, required=True)
        if code_id and not ID_RE.match(code_id):
            problems.add(
                f"{base} -> id",
                fields["id"][1],
                f"'{code_id}' is not a valid id (lower-case ASCII letters, digits and _, "
                "starting with a letter)",
            )
    else:
        problems.add(f"{base} -> id", node, "required key is missing")
    path = f"{base} ({code_id})" if code_id else base
    _known_keys(fields, _CODE_KEYS, path, problems)

    def text(key: str, required: bool = False) -> str:
        if key not in fields:
            if required:
                problems.add(f"{path} -> {key}", node, "required key is missing")
            return ""
        return _string(fields[key][1], f"{path} -> {key}", problems, required=required)

    label = text("label", required=True)
    parent = text("parent") or None
    labels = _labels(fields.get("labels"), f"{path} -> labels", problems)
    examples = _string_list(fields.get("examples"), f"{path} -> examples", problems)
    indicator = _indicator(fields.get("indicator"), f"{path} -> indicator", problems)
    codable = True
    if "codable" in fields:
        value = _scalar(fields["codable"][1])
        if not isinstance(value, bool):
            problems.add(f"{path} -> codable", fields["codable"][1], "must be true or false")
        else:
            codable = value
    min_hits = 1
    if "min_hits" in fields:
        value = _scalar(fields["min_hits"][1])
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.add(
                f"{path} -> min_hits", fields["min_hits"][1], "must be a whole number of at least 1"
            )
        else:
            min_hits = value
    return Code(
        id=code_id or f"<code {index}>",
        label=label,
        parent=parent,
        labels=labels,
        definition=text("definition"),
        include=text("include"),
        exclude=text("exclude"),
        examples=tuple(examples),
        indicator=indicator,
        codable=codable,
        keywords=_keywords(fields.get("keywords"), f"{path} -> keywords", problems),
        phrases=_phrases(fields.get("phrases"), f"{path} -> phrases", problems),
        exclude_keywords=_keywords(
            fields.get("exclude_keywords"), f"{path} -> exclude_keywords", problems
        ),
        exclude_phrases=_phrases(
            fields.get("exclude_phrases"), f"{path} -> exclude_phrases", problems
        ),
        min_hits=min_hits,
    )


def _sequence(entry: tuple[Any, Any] | None, path: str, problems: _Problems) -> list[Any]:
    import yaml

    if entry is None:
        return []
    node = entry[1]
    if isinstance(node, yaml.ScalarNode) and _scalar(node) is None:
        return []
    if not isinstance(node, yaml.SequenceNode):
        problems.add(path, node, "must be a list")
        return []
    return list(node.value)


def _string_list(entry: tuple[Any, Any] | None, path: str, problems: _Problems) -> list[str]:
    return [
        s
        for i, n in enumerate(_sequence(entry, path, problems), start=1)
        if (s := _string(n, f"{path} -> {i}", problems, required=True))
    ]


def _labels(
    entry: tuple[Any, Any] | None, path: str, problems: _Problems
) -> tuple[tuple[str, str], ...]:
    if entry is None:
        return ()
    fields = _mapping(entry[1], path, problems)
    if fields is None:
        return ()
    _known_keys(fields, {"sv", "en", "fi"}, path, problems)
    out = []
    for lang in sorted(fields):
        value = _string(fields[lang][1], f"{path} -> {lang}", problems, required=True)
        if value:
            out.append((lang, value))
    return tuple(out)


def _indicator(
    entry: tuple[Any, Any] | None, path: str, problems: _Problems
) -> tuple[str, str] | None:
    if entry is None:
        return None
    fields = _mapping(entry[1], path, problems)
    if fields is None:
        return None
    if len(fields) != 1:
        problems.add(path, entry[1], "give exactly one of maturity or leadership")
        return None
    ((dimension, (key_node, value_node)),) = fields.items()
    if dimension not in INDICATORS:
        problems.add(f"{path} -> {dimension}", key_node, "must be maturity or leadership")
        return None
    value = _string(value_node, f"{path} -> {dimension}", problems, required=True)
    if value not in INDICATORS[dimension]:
        allowed = ", ".join(INDICATORS[dimension])
        problems.add(f"{path} -> {dimension}", value_node, f"'{value}' is not one of {allowed}")
        return None
    return dimension, value


def _word(value: str, path: str, node: Any, problems: _Problems) -> str | None:
    word = value.strip().lower()
    if not word:
        problems.add(path, node, "empty keyword")
        return None
    if len(word.split()) > 1:
        problems.add(path, node, f'keyword must be a single word; use phrases for "{word}"')
        return None
    return word


def _keywords(entry: tuple[Any, Any] | None, path: str, problems: _Problems) -> tuple[Keyword, ...]:
    import yaml

    out: list[Keyword] = []
    seen: set[str] = set()
    for i, node in enumerate(_sequence(entry, path, problems), start=1):
        where = f"{path} -> {i}"
        keyword: Keyword | None = None
        if isinstance(node, yaml.MappingNode):
            fields = _mapping(node, where, problems) or {}
            _known_keys(fields, {"word", "compounds"}, where, problems)
            if "word" not in fields:
                problems.add(where, node, "a keyword mapping needs 'word'")
                continue
            word = _word(
                _string(fields["word"][1], where, problems, required=True), where, node, problems
            )
            compounds = True
            if "compounds" in fields:
                value = _scalar(fields["compounds"][1])
                if not isinstance(value, bool):
                    problems.add(
                        f"{where} -> compounds", fields["compounds"][1], "must be true or false"
                    )
                else:
                    compounds = value
            keyword = Keyword(word, compounds) if word else None
        else:
            word = _word(_string(node, where, problems, required=True), where, node, problems)
            keyword = Keyword(word) if word else None
        if keyword is None:
            continue
        if keyword.word in seen:
            problems.add(where, node, f"keyword '{keyword.word}' is listed twice")
            continue
        seen.add(keyword.word)
        out.append(keyword)
    return tuple(out)


def _phrases(entry: tuple[Any, Any] | None, path: str, problems: _Problems) -> tuple[Phrase, ...]:
    import yaml

    out: list[Phrase] = []
    for i, node in enumerate(_sequence(entry, path, problems), start=1):
        where = f"{path} -> {i}"
        gap = 0
        if isinstance(node, yaml.MappingNode):
            fields = _mapping(node, where, problems) or {}
            _known_keys(fields, {"words", "gap"}, where, problems)
            if "words" not in fields:
                problems.add(where, node, "a phrase mapping needs 'words'")
                continue
            text = _string(fields["words"][1], where, problems, required=True)
            if "gap" in fields:
                value = _scalar(fields["gap"][1])
                if (
                    isinstance(value, bool)
                    or not isinstance(value, int)
                    or not (0 <= value <= _MAX_GAP)
                ):
                    problems.add(
                        f"{where} -> gap",
                        fields["gap"][1],
                        f"must be a whole number from 0 to {_MAX_GAP}",
                    )
                else:
                    gap = value
        else:
            text = _string(node, where, problems, required=True)
        words = tuple(text.lower().split())
        if text and len(words) < 2:
            problems.add(
                where, node, f"a phrase needs at least two words; put '{text}' in keywords"
            )
            continue
        if words:
            out.append(Phrase(words, gap))
    return tuple(out)


def _field_node(node: Any, key: str) -> Any:
    """The value node of ``key`` in a code's mapping (for the line of a problem), else the code."""
    for key_node, value_node in getattr(node, "value", ()):
        if getattr(key_node, "value", None) == key:
            return value_node
    return node


def _check_tree(entries: list[tuple[int, Code, Any]], problems: _Problems) -> None:
    """Duplicate ids, unknown parents and cycles; ``entries`` are (index in the list, code,
    its YAML node) for the codes that parsed, so a broken entry before them shifts nothing."""
    seen: dict[str, int] = {}
    for i, code, node in entries:
        if code.id in seen and not code.id.startswith("<"):
            problems.add(
                f"codes -> {i} ({code.id}) -> id",
                _field_node(node, "id"),
                f"id '{code.id}' is already used by code {seen[code.id]}",
            )
        seen.setdefault(code.id, i)
    by_id = {c.id: c for _, c, _ in entries}
    for i, code, node in entries:
        where = f"codes -> {i} ({code.id}) -> parent"
        if code.parent is None:
            continue
        parent_node = _field_node(node, "parent")
        if code.parent == code.id:
            problems.add(where, parent_node, "a code cannot be its own parent")
        elif code.parent not in by_id:
            problems.add(where, parent_node, f"unknown parent '{code.parent}'")
        else:
            chain = [code.id]
            parent: str | None = code.parent
            while parent is not None and parent in by_id:
                if parent in chain:
                    problems.add(where, parent_node, "cycle: " + " -> ".join([*chain, parent]))
                    break
                chain.append(parent)
                parent = by_id[parent].parent
