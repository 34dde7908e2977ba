"""BibTeX (bibtexparser 2): entries, names split by bibtexparser, LaTeX decoded."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any

from bibtexparser import middlewares
from bibtexparser.library import Library
from bibtexparser.middlewares.middleware import BlockMiddleware, LibraryMiddleware
from bibtexparser.middlewares.month import _LOWERCASE_FULL, _MONTH_ABBREV
from bibtexparser.middlewares.names import (
    InvalidNameError,
    NameParts,
    parse_single_name_into_parts,
    split_multiple_persons_names,
)
from bibtexparser.model import Block, DuplicateFieldKeyBlock, Entry, Field

from citations.identifiers import URL_RE, doi_from_url

from .common import ParsedEntry, RawEntry, SeenInFile, clean, expand_pages, finish

_BIBTEX_TYPES = {
    "article": "article-journal",
    "book": "book",
    "booklet": "book",
    "inbook": "chapter",
    "incollection": "chapter",
    "inproceedings": "paper-conference",
    "conference": "paper-conference",
    "proceedings": "book",
    "techreport": "report",
    "report": "report",
    "phdthesis": "thesis",
    "mastersthesis": "thesis",
    "thesis": "thesis",
    "online": "webpage",
    "electronic": "webpage",
    "www": "webpage",
    "misc": "article",
    "unpublished": "manuscript",
    "manual": "book",
}


# Text with none of these marks decodes to itself; skipping the LaTeX parser for it
# makes BibTeX import several times faster (most fields are plain text).
_LATEX_MARKS = re.compile(r"[\\{}$~%&`]|--|''")
# Fields a child entry takes from the parent it names in ``crossref`` (or ``xref``).
_INHERITED = (
    "editor", "publisher", "address", "year", "month", "date", "volume", "series",
    "organization", "institution", "booktitle", "isbn",
)  # fmt: skip

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def _latex_decoder():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text()


@functools.lru_cache(maxsize=8192)
def _latex_to_text(text: str) -> str:
    """LaTeX to text for names; cached, since a library repeats its authors' names."""
    if not _LATEX_MARKS.search(text):
        return text
    try:
        return _latex_decoder().latex_to_text(text)
    except Exception:  # noqa: BLE001 - malformed LaTeX in a name should not lose the entry
        return text.replace("{", "").replace("}", "")


_DASHES_ONLY = re.compile(r"[^\\{}$~%&`']*")


def _decode_value(value: str, decode) -> str:
    """LaTeX to text; dashes alone (``1--12``, most page ranges) skip the LaTeX parser."""
    if _DASHES_ONLY.fullmatch(value):
        return value.replace("---", "\u2014").replace("--", "\u2013")
    return decode(value)[0]


def _split_concatenation(value: str) -> list[str] | None:
    """Split ``a # "b" # {c}`` at the ``#`` outside quotes and braces; None if there is none."""
    if "#" not in value:
        return None
    parts, depth, quoted, start = [], 0, False, 0
    for position, char in enumerate(value):
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == '"' and depth == 0:
            quoted = not quoted
        elif char == "#" and depth == 0 and not quoted:
            parts.append(value[start:position].strip())
            start = position + 1
    if not parts:
        return None
    parts.append(value[start:].strip())
    return parts


def _unenclose(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and (value[0], value[-1]) in (("{", "}"), ('"', '"')):
        return value[1:-1]
    return value


class ResolveConcatenation(LibraryMiddleware):
    """``jean # " " # cesar`` becomes ``{Jean C{\'e}sar}`` (macros looked up, any case).

    bibtexparser 2.1 resolves a field that *is* an ``@string`` name, but not ``#``
    concatenation (a TODO upstream).
    """

    def transform(self, library):
        macros = {k.lower(): s.value for k, s in library.strings_dict.items()}
        for entry in library.entries:
            for field in entry.fields:
                parts = isinstance(field.value, str) and _split_concatenation(field.value)
                if parts:
                    text = "".join(_unenclose(macros.get(part.lower(), part)) for part in parts)
                    field.value = "{" + text + "}"
        return library


class InheritCrossref(LibraryMiddleware):
    """A child entry takes missing fields (and the parent's title as booktitle).

    ``crossref``/``xref`` inheritance is another TODO of bibtexparser 2.1.
    """

    def transform(self, library):
        by_key = {entry.key.lower(): entry for entry in library.entries}
        for entry in library.entries:
            parent_key = entry.fields_dict.get("crossref") or entry.fields_dict.get("xref")
            parent = by_key.get(str(parent_key.value).lower()) if parent_key else None
            if parent is None or parent is entry:
                continue
            own, theirs = entry.fields_dict, parent.fields_dict
            for name in _INHERITED:
                if name not in own and name in theirs:
                    # A copy: later middlewares rewrite values in place, per entry.
                    entry.set_field(Field(name, theirs[name].value))
            if "booktitle" not in entry.fields_dict and "title" in theirs:
                entry.set_field(Field("booktitle", theirs["title"].value))
        return library


#: The fields _bibtex_record reads (names are decoded by _bibtex_person).
_READ_FIELDS = frozenset({
    "title", "journal", "journaltitle", "booktitle", "series", "date", "year", "month",
    "volume", "number", "issue", "pages", "article-number", "eid", "doi", "pmid", "pmcid",
    "url", "howpublished", "publisher", "institution", "school", "organization",
})  # fmt: skip


class DecodeLatex(middlewares.LatexDecodingMiddleware):
    """LaTeX to text for plain string fields only: names are decoded by _bibtex_person
    (bibtexparser would log "Cannot python-str transform field author" per entry)."""

    def transform_entry(self, entry, library):
        for field in entry.fields:
            if field.key not in _READ_FIELDS:
                continue  # an abstract's LaTeX is never read: decoding it is wasted
            if isinstance(field.value, str) and _LATEX_MARKS.search(field.value):
                field.value = _decode_value(field.value, self._transform_python_value_string)
        return entry


_WORD_GAP = re.compile(r"[ \t\r\n]+")
_AND = re.compile(r"[ \t\r\n]+and[ \t\r\n]+", re.I)
# Characters that make bibtexparser's name rules matter: braces, escapes, ties.
_NAME_MARKS = re.compile(r"[{}\\~]")


def _split_people(value: str) -> list[str]:
    """``A and B`` as bibtexparser's ``split_multiple_persons_names`` splits it.

    Without braces no ``and`` is protected, so a regular expression gives the same
    list; anything else goes to bibtexparser.
    """
    if "{" in value or "}" in value:
        return split_multiple_persons_names(value)
    value = value.strip(" \r\n\t")
    return _AND.split(value) if value else []


def _name_parts(name: str) -> NameParts:
    """bibtexparser's ``parse_single_name_into_parts``, with a fast path for plain names.

    ``Family, Given`` (one comma) and ``Given Family`` (every word capitalised) with no
    braces, escapes or ties are split directly: the family is what precedes the comma
    (von and last together, as _bibtex_person joins them), or the last word. Everything
    else (``van Eijck``-style particles without a comma, ``Jr`` parts, braces) goes to
    bibtexparser.
    """
    if not _NAME_MARKS.search(name):
        commas = name.count(",")
        if commas == 1:
            before, after = name.split(",")
            last, first = _WORD_GAP.split(before.strip(" \t\r\n")), after.strip(" \t\r\n")
            if last[0] and first:
                return NameParts(first=_WORD_GAP.split(first), last=last)
        elif commas == 0:
            words = _WORD_GAP.split(name.strip(" \t\r\n"))
            if len(words) > 1 and all(word[:1].isupper() for word in words):
                return NameParts(first=words[:-1], last=words[-1:])
    return parse_single_name_into_parts(name)


class SplitNames(middlewares.SplitNameParts):
    """bibtexparser's SeparateCoAuthors and SplitNameParts in one step, with fast paths."""

    def _transform_field_value(self, name):
        return [_name_parts(person) for person in _split_people(name)] if name else []


class _Chain(BlockMiddleware):
    """Several block middlewares applied to each block in turn, in one pass.

    bibtexparser rebuilds the library after every middleware; for a 2,000-entry chunk
    that rebuild, nine times over, cost as much as the work itself.
    """

    def __init__(self, *steps: BlockMiddleware):
        super().__init__(allow_inplace_modification=True)
        self.steps = steps

    def transform_block(self, block, library):
        for step in self.steps:
            block = step.transform_block(block, library)
            if not isinstance(block, Block):
                return block  # removed or replaced by several: nothing more to do
        return block


_STRING_BLOCK = re.compile(r"@\s*string\s*[{(]", re.I)


def _middlewares(chunk: str | None = None) -> list:
    """The parse stack: bibtexparser's own middlewares, and ours where it has none.

    With ``chunk``, the library-wide steps that cannot change it (no ``#``, no
    ``@string``, no ``crossref``) are left out and the rest run in one pass.
    """
    stack: list = [
        middlewares.NormalizeFieldKeys(),
        ResolveConcatenation(),
        middlewares.ResolveStringReferencesMiddleware(),
        middlewares.RemoveEnclosingMiddleware(),
        InheritCrossref(),
        middlewares.MonthIntMiddleware(),
        # Names are split before LaTeX decoding so that the braces marking a
        # collective author ({{Group}}) survive; _bibtex_person decodes names.
        SplitNames(),
        DecodeLatex(keep_math_mode=False),
    ]
    if chunk is None:
        return stack
    needed = {
        ResolveConcatenation: "#" in chunk,
        middlewares.ResolveStringReferencesMiddleware: bool(_STRING_BLOCK.search(chunk)),
        InheritCrossref: _has_crossref(chunk),
    }
    stack = [step for step in stack if needed.get(type(step), True)]
    chained: list = []
    for step in stack:
        if isinstance(step, BlockMiddleware) and chained and isinstance(chained[-1], _Chain):
            chained[-1].steps += (step,)
        elif isinstance(step, BlockMiddleware):
            chained.append(_Chain(step))
        else:
            chained.append(step)
    return chained


def _bibtex_person(parts: Any, role: str) -> dict:
    """Convert bibtexparser NameParts to our name dict; ``{{Group}}`` becomes a literal."""
    first = list(getattr(parts, "first", []) or [])
    von = list(getattr(parts, "von", []) or [])
    last = list(getattr(parts, "last", []) or [])
    jr = list(getattr(parts, "jr", []) or [])
    person: dict[str, str] = {}
    if not first and not von and not jr and len(last) == 1:
        token = last[0]
        if token.casefold() == "others":
            person = {"literal": "et al"}
        elif token.startswith("{") and token.endswith("}"):
            # Double-braced names are corporate/collective authors: never split them.
            person = {"literal": clean(_latex_to_text(token[1:-1]))}
    if not person:
        person = {
            "family": clean(_latex_to_text(" ".join(von + last))),
            "given": clean(_latex_to_text(" ".join(first))),
        }
        if jr:
            person["suffix"] = clean(_latex_to_text(" ".join(jr)))
    if role == "editor":
        person["role"] = "editor"
    return person


def _bibtex_value(fields: Mapping[str, Any], *names: str) -> str:
    for name in names:
        if name in fields and not isinstance(fields[name], list):
            value = clean(fields[name])
            if value:
                return value
    return ""


def _bibtex_people(fields: Mapping[str, Any], warnings: list[str]) -> list[dict]:
    """Authors, then editors (``role: editor``); ``and others`` ends a list with "et al"."""
    people = []
    for people_field in ("author", "editor"):
        names = fields.get(people_field) or []
        if type(names) is _Names:  # the fast path: names as written
            converted_all = [dict(_cached_person(name, people_field)) for name in names]
        else:
            if isinstance(names, str):
                names = [names]
            converted_all = [_bibtex_person(person, people_field) for person in names]
        for converted in converted_all:
            if converted.get("family") or converted.get("literal"):
                people.append(converted)
    if any(p.get("literal") == "et al" for p in people):
        warnings.append("author list ends with 'and others': printed as et al")
    return people


def _bibtex_issued(fields: Mapping[str, Any]) -> str:
    issued = _bibtex_value(fields, "date")
    if not issued:
        year = _bibtex_value(fields, "year")
        month = _bibtex_value(fields, "month")
        issued = f"{year} {month}".strip() if month and not month.isdigit() else year
        if month.isdigit() and year:
            issued = f"{year}-{int(month):02d}"
    return issued


def _bibtex_record(entry: Any, fields: dict | None = None) -> tuple[dict, list[str]]:
    if fields is None:
        fields = {f.key.lower(): f.value for f in entry.fields}
    warnings: list[str] = []
    etype = entry.entry_type.lower()
    authors = _bibtex_people(fields, warnings)
    container = _bibtex_value(fields, "journal", "journaltitle", "booktitle")
    if etype == "book":
        container = _bibtex_value(fields, "series")
    issued = _bibtex_issued(fields)
    doi = _bibtex_value(fields, "doi")
    url = _bibtex_value(fields, "url")
    published = _bibtex_value(fields, "howpublished")
    if published.startswith("\\url"):
        published = published[4:].strip("{}")
    if not url and URL_RE.match(published):
        url, published = published, ""
    if url.startswith("\\url"):
        url = url[4:].strip("{}")
    if not doi and doi_from_url(url):
        warnings.append("DOI taken from the url field")
    record = {
        "key": entry.key,
        "type": _BIBTEX_TYPES.get(etype, "article"),
        "title": _bibtex_value(fields, "title"),
        "authors": authors,
        "container_title": container,
        "issued": issued,
        "volume": _bibtex_value(fields, "volume"),
        "issue": _bibtex_value(fields, "number", "issue"),
        # WoS writes article numbers (eLife's e80092) as Article-Number, biblatex as eid.
        "pages": expand_pages(_bibtex_value(fields, "pages"))
        or _bibtex_value(fields, "article-number", "eid"),
        "doi": doi,
        "pmid": _bibtex_value(fields, "pmid"),
        "pmcid": _bibtex_value(fields, "pmcid"),
        "url": url,
        # howpublished is a place and publisher ("Geneva: WHO") unless it is a link.
        "publisher": _bibtex_value(fields, "publisher", "institution", "school", "organization")
        or published,
    }
    return record, warnings


_MONTHS = {
    **{name: n for n, name in enumerate(_MONTH_ABBREV, 1)},
    **{name: n for n, name in enumerate(_LOWERCASE_FULL, 1)},
}
_NAME_FIELDS = frozenset(("author", "editor", "translator"))
_is_enclosed_in_braces = middlewares.RemoveEnclosingMiddleware._is_enclosed_in_braces
_is_enclosed_in_quotes = middlewares.RemoveEnclosingMiddleware._is_enclosed_in_quotes


@functools.lru_cache(maxsize=1)
def _block_steps() -> tuple[SplitNames, DecodeLatex, _Chain]:
    """Our name splitter and LaTeX decoder, and the whole per-entry chain (the slow path)."""
    chain = next(step for step in _middlewares("") if isinstance(step, _Chain))
    return SplitNames(), DecodeLatex(keep_math_mode=False), chain


class _Names(list):
    """The names of an author/editor field, as written: converted by _bibtex_people,
    each distinct name once per file (a library repeats its authors)."""


@functools.lru_cache(maxsize=16384)
def _cached_name_parts(name: str) -> NameParts:
    return _name_parts(name)


@functools.lru_cache(maxsize=16384)
def _cached_person(name: str, role: str) -> dict:
    return _bibtex_person(_cached_name_parts(name), role)


def _entry_fields(entry: Any) -> dict | None:
    """What the per-entry chain (NormalizeFieldKeys, RemoveEnclosing, MonthInt,
    SplitNames, DecodeLatex) makes of an entry's fields, as ``{name: value}``, in
    one pass and without rewriting bibtexparser's Field objects.

    None for the rare entry that needs the chain itself: a field name repeated in
    another case (bibtexparser warns and keeps the last) or a name it cannot split.
    """
    _split, decode, _chain = _block_steps()
    fields: dict = {}
    for f in entry.fields:
        name = f.key.lower()
        if name in fields:
            return None
        value = f.value.strip()
        if len(value) >= 2:
            first, last = value[0], value[-1]
            if first == "{" and last == "}":
                inner = value[1:-1]
                # RemoveEnclosing's own fast path for a plainly braced value, inlined.
                if ("{" not in inner and "}" not in inner and not inner.endswith("\\")) or (
                    ("{" in inner or "}" in inner) and _is_enclosed_in_braces(value)
                ):
                    value = inner
            elif first == '"' and last == '"' and _is_enclosed_in_quotes(value):
                value = value[1:-1]
        fields[name] = value
    month = fields.get("month")
    if month is not None:
        number = _MONTHS.get(month.lower())
        if number is None and month.isascii() and month.isdigit() and 1 <= int(month) <= 12:
            number = int(month)
        if number is not None:
            fields["month"] = number
    for name, value in fields.items():
        if name in _NAME_FIELDS:
            people = _split_people(value) if value else []
            try:
                for person in people:
                    _cached_name_parts(person)  # what SplitNames would refuse
            except InvalidNameError:
                return None
            fields[name] = _Names(people)
        elif name in _READ_FIELDS and type(value) is str and _LATEX_MARKS.search(value):
            fields[name] = _decode_value(value, decode._transform_python_value_string)
    return fields


#: Entries parsed at a time: bounds the memory a 10 MB file needs.
BATCH_SIZE = 2000
_BLOCK_START = re.compile(r"^[ \t]*@", re.M)
_ENTRY_HEAD = re.compile(r"\s*@\s*(\w+)\s*[{(]\s*([^,\s{}()]*)")
_CROSSREF = re.compile(r"\b(?:crossref|xref)\s*=\s*[{\"]?\s*([^,\s{}\"]+)", re.I)


def _has_crossref(text: str) -> bool:
    """``_CROSSREF.search(text)``; a substring test first, since the regex scans slowly."""
    lowered = text.lower()
    return ("crossref" in lowered or "xref" in lowered) and bool(_CROSSREF.search(text))


def count_bibtex(text: str) -> int:
    """How many entries (not @string, @comment, @preamble) the text holds."""
    return sum(
        1
        for match in re.finditer(r"^[ \t]*@\s*(\w+)\s*[{(]", text, re.M)
        if match.group(1).lower() not in ("string", "comment", "preamble")
    )


def _chunks(text: str, size: int) -> Iterator[tuple[str, int, int]]:
    """``(text, prefix lines, first line in the file)`` per ``size`` entries.

    Each chunk after splitting is prefixed with every ``@string`` definition and
    the ``crossref`` parents it does not hold itself, so macros and inheritance
    work as in one parse. A file of at most ``size`` entries is one chunk.
    """
    starts = [m.start() for m in _BLOCK_START.finditer(text)]
    if len(starts) <= size + 1:
        yield text, 0, 0
        return
    bounds = list(zip([0, *starts], [*starts, len(text)], strict=True))
    wanted = {m.group(1).lower() for m in _CROSSREF.finditer(text)} if _has_crossref(text) else ()
    strings, parents = [], {}
    body: list[tuple[int, int, str]] = []  # (start, end, lower-cased key or "")
    for start, end in bounds:
        if start == end:
            continue
        head = _ENTRY_HEAD.match(text, start)
        kind = head.group(1).lower() if head else ""
        key = head.group(2).lower() if head and kind not in ("comment", "preamble") else ""
        if kind == "string":
            strings.append(text[start:end])
            continue
        if key in wanted:
            parents[key] = text[start:end]
        body.append((start, end, key))
    macros = "".join(strings)
    line, counted = 0, 0
    for group in _groups(body, size):
        keys = {key for _start, _end, key in group}
        prefix = macros + "".join(t for k, t in parents.items() if k not in keys)
        if prefix and not prefix.endswith("\n"):
            prefix += "\n"
        chunk_start = group[0][0]
        line += text.count("\n", counted, chunk_start)
        counted = chunk_start
        yield prefix + text[chunk_start : group[-1][1]], prefix.count("\n"), line


def _groups(body: list[tuple[int, int, str]], size: int) -> Iterator[list[tuple[int, int, str]]]:
    """Consecutive blocks holding ``size`` entries each (comments ride along)."""
    group: list[tuple[int, int, str]] = []
    entries = 0
    for block in body:
        if entries == size and block[2]:
            yield group
            group, entries = [], 0
        group.append(block)
        entries += bool(block[2])
    if group:
        yield group


def iter_bibtex(
    text: str, size: int | None = None, *, fast_split: bool = True
) -> Iterator[list[ParsedEntry]]:
    """Parse BibTeX in batches of ``size`` entries; see :func:`parse_bibtex`.

    ``fast_split`` False always uses bibtexparser's splitter (the tests compare both).
    """
    size = size or BATCH_SIZE
    from bibtexparser.splitter import Splitter

    seen, index = SeenInFile(), 0
    for chunk, prefix_lines, first_line in _chunks(text, size):
        stack = _middlewares(chunk)
        # Only the per-entry chain: it runs in _block_entry, one pass per entry.
        fast = len(stack) == 1 and isinstance(stack[0], _Chain)
        try:
            library = _fast_split(chunk) if fast and fast_split else None
            repeated: dict[int, list[str]] = {}  # _fast_split takes no repeated field
            if library is None:
                library, repeated = _keep_first_of_repeated_fields(Splitter(chunk).split())
            if not fast:
                for middleware in stack:
                    library = middleware.transform(library=library)
        except Exception as exc:  # noqa: BLE001 - unreadable; report, don't raise
            yield [ParsedEntry(0, "", None, f"could not parse BibTeX file: {exc}")]
            return
        raw: list[RawEntry] = []
        for block in library.blocks:
            if block.start_line < prefix_lines:
                continue  # a macro or parent repeated from elsewhere in the file
            entry = _block_entry(
                block, index + len(raw) + 1, first_line - prefix_lines, fast=fast, library=library
            )
            if entry is not None:
                if block.start_line in repeated:
                    entry.warnings.extend(repeated[block.start_line])
                raw.append(entry)
        index += len(raw)
        if raw:
            yield finish(raw, seen=seen, nul_free="\x00" not in chunk)
    if not index:
        yield [ParsedEntry(0, "", None, "no BibTeX entries found")]


def _keep_first_of_repeated_fields(library: Library) -> tuple[Library, dict[int, list[str]]]:
    """An entry that gives a field twice (``title`` twice, or ``title`` and ``Title``)
    keeps the first, as BibTeX itself does, with a warning for the report.

    bibtexparser turns an entry with a field repeated exactly into a
    DuplicateFieldKeyBlock, which no middleware reads (the entry was lost), and keeps
    the last of ``title``/``Title``. Returns the library and the warnings by the
    entry's start line.
    """
    warnings: dict[int, list[str]] = {}
    changed = False
    blocks = list(library.blocks)
    for position, block in enumerate(blocks):
        if type(block) is DuplicateFieldKeyBlock:
            block = blocks[position] = block.ignore_error_block
            changed = True
        if type(block) is not Entry:
            continue
        kept: dict[str, Field] = {}
        for field in block.fields:
            name = field.key.lower()
            if name in kept:
                warnings.setdefault(block.start_line, []).append(
                    f"field {field.key!r} given twice: the first is kept"
                )
            else:
                kept[name] = field
        if len(kept) != len(block.fields):
            block.fields = list(kept.values())
    if changed:  # an unwrapped entry may repeat a key: the library decides, as before
        library = Library()
        library.add(blocks, fail_on_duplicate_key=False)
    return library, warnings


def parse_bibtex(text: str) -> list[ParsedEntry]:
    """Parse BibTeX text; failed blocks and duplicate keys become refused entries."""
    return [entry for batch in iter_bibtex(text) for entry in batch]


def _block_entry(
    block: Any, index: int, line_offset: int = 0, *, fast: bool = False, library: Any = None
) -> RawEntry | None:
    """The raw entry for one bibtexparser block; None for comments, @string and the like.

    ``fast``: the block comes straight from the splitter; the per-entry chain is applied
    here (by :func:`_entry_fields`, or by the chain itself for the rare entry it cannot).
    """
    fields = None
    if fast and type(block) is Entry:
        fields = _entry_fields(block)
        if fields is None:
            block = _block_steps()[2].transform_block(block, library)
    kind = type(block).__name__
    line = block.start_line + 1 + line_offset
    if kind == "DuplicateBlockKeyBlock":
        return RawEntry.refused(
            index,
            block.key,
            f"duplicate key {block.key!r} (line {line}): an earlier entry already uses it",
        )
    if kind.endswith("ErrorBlock") or kind.endswith("FailedBlock"):
        raw_text = getattr(block, "raw", "") or ""
        if not raw_text.lstrip().startswith("@"):
            return None
        key_match = re.match(r"\s*@\w+\s*[{(]\s*([^,\s]+)", raw_text)
        reason = str(getattr(block, "error", "") or "syntax error")
        if "BlockAbortedException" in repr(getattr(block, "error", "")) or not reason:
            reason = "unterminated entry (missing closing brace?)"
        return RawEntry.refused(
            index,
            key_match.group(1) if key_match else "",
            f"could not parse entry at line {line}: {reason}",
        )
    if kind != "Entry":
        return None
    try:
        record, warnings = _bibtex_record(block, fields)
    except Exception as exc:  # noqa: BLE001 - one odd entry must not stop the rest
        return RawEntry.refused(index, block.key, f"could not read entry: {exc}")
    return RawEntry(index, block.key, record, None, warnings)


# --- a strict splitter for the common case ------------------------------------------------

# bibtexparser's splitter walks the text mark by mark in Python (every brace, quote,
# comma, equals sign and newline): about a third of a BibTeX import. Most exports
# (Zotero, JabRef, Mendeley, Web of Science) are regular enough for regular expressions
# to find the same blocks in C. _fast_split accepts a chunk only when every block in it
# fits the strict grammar below, which gives the same entries, keys, values and lines as
# bibtexparser; for anything else (an entry in parentheses, braces nested deeper than
# five, ``@string``, a block start inside a value, a repeated field, a broken entry, an
# escaped newline, ``{"}`` in quotes) it returns None and the chunk goes to bibtexparser.
# tests/citations/test_bibtex_fast_split.py compares the two on every fixture and on
# generated text. Possessive quantifiers (Python 3.11) keep a failed match from
# backtracking.

# A backslash makes the mark after it ordinary, as bibtexparser's ``(?<!\\)`` does.
_ESCAPE = r'\\(?:[{}",=]|(?![{}",=]))'
# An ``@`` that bibtexparser would not take for the start of a block.
_PLAIN_AT = r"@(?!\w*[ \t]*[{(])"


def _braced(depth: int) -> str:
    """``{…}`` with up to ``depth`` levels of braces; quotes are ordinary inside."""
    inner = rf"[^{{}}\\@]++|{_ESCAPE}|{_PLAIN_AT}"
    if depth > 1:
        inner += "|" + _braced(depth - 1)
    return rf"\{{(?:{inner})*+\}}"


# Inside quotes braces and commas are ordinary for bibtexparser.
_QUOTED = rf'"(?:[^"\\@]++|{_ESCAPE}|{_PLAIN_AT})*+"'
# A field's value: text, braced groups and quoted strings, up to a comma or the entry's
# closing brace at depth 0.
_VALUE = rf'(?:[^{{}}",\\@]++|{_ESCAPE}|{_PLAIN_AT}|{_braced(5)}|{_QUOTED})*+'
# An entry's or a field's key: no mark, no backslash, no @.
_KEY = r'[^{}",=\\@]*+'
_FAST_BLOCK_START = re.compile(r"@(\w*)[ \t]*([{(])")
_FAST_ENTRY_KEY = re.compile(rf"({_KEY})([,}}])")
_FAST_FIELD = re.compile(rf"({_KEY})=({_VALUE})([,}}])")
_FAST_TRAILER = re.compile(rf"({_KEY})\}}")  # after a trailing comma: spaces only
_FAST_BLOCK_BODY = re.compile(_braced(6))  # @comment{…} and @preamble{…}


def _fast_split(text: str) -> Library | None:
    """The blocks bibtexparser's splitter makes of ``text``, as a Library, or None when
    ``text`` holds anything outside the strict grammar above."""
    if "\\\n" in text or '{"}' in text:
        return None
    blocks: list[Block] = []
    position, line, counted = 0, 0, 0
    search, entry_key, next_field = (
        _FAST_BLOCK_START.search,
        _FAST_ENTRY_KEY.match,
        _FAST_FIELD.match,
    )
    while (start := search(text, position)) is not None:
        kind, at = start.group(1).lower(), start.start()
        if start.group(2) != "{" or not kind or kind.startswith("string"):
            return None
        line += text.count("\n", counted, at)
        counted = at
        if kind.startswith(("comment", "preamble")):
            body = _FAST_BLOCK_BODY.match(text, start.end() - 1)
            if body is None:
                return None
            position = body.end()
            continue  # neither is imported
        head = entry_key(text, start.end())
        if head is None:
            return None
        fields: list[Field] = []
        names: set[str] = set()
        position, closed = head.end(), head.group(2) == "}"
        while not closed:
            found = next_field(text, position)
            if found is None:
                trailer = _FAST_TRAILER.match(text, position)
                if trailer is None or trailer.group(1).strip():
                    return None
                position = trailer.end()
                break
            name = found.group(1).strip()
            if name.lower() in names:
                return None  # a repeated field: see _keep_first_of_repeated_fields
            names.add(name.lower())
            fields.append(Field(name, found.group(2).strip()))
            position, closed = found.end(), found.group(3) == "}"
        blocks.append(
            Entry(kind, head.group(1).strip(), fields, start_line=line, raw=text[at:position])
        )
    library = Library()
    library.add(blocks, fail_on_duplicate_key=False)
    return library
