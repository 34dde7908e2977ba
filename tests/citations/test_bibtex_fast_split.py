"""The strict BibTeX splitter (``_fast_split``) against bibtexparser's own splitter.

``_fast_split`` may refuse a text (None: bibtexparser splits it instead), but whatever it
accepts must give exactly the entries bibtexparser gives: the same types, keys, fields,
values and lines, and the same duplicate-key blocks. Checked on every BibTeX fixture,
on the benchmark's generated entries, on hand-picked irregular shapes and on random
text built from the characters that matter to the splitter (hypothesis).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from bibtexparser.model import DuplicateBlockKeyBlock, Entry
from bibtexparser.splitter import Splitter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citations.importers import parse_file
from citations.importers.bibtex import _fast_split, iter_bibtex
from citations.importers.files import decode
from tests.citations.generated import bibtex_entry

FIXTURES = Path(__file__).resolve().parent / "fixtures"
BIB_FILES = sorted(FIXTURES.rglob("*.bib"))


def _entries(library) -> list[tuple]:
    """What the importer reads of a split: entries and duplicate-key blocks, in order."""
    out = []
    for block in library.blocks:
        if type(block) is Entry:
            fields = [(f.key, f.value) for f in block.fields]
            out.append(("entry", block.start_line, block.entry_type, block.key, fields))
        elif type(block) is DuplicateBlockKeyBlock:
            out.append(("duplicate", block.start_line, block.key))
        elif type(block).__name__.endswith(("FailedBlock", "ErrorBlock")):
            out.append(("failed", block.start_line))
    return out


def _same_as_bibtexparser(text: str) -> bool:
    """True when _fast_split accepted ``text``; fails when it accepted it differently."""
    fast = _fast_split(text)
    if fast is None:
        return False
    assert _entries(fast) == _entries(Splitter(text).split())
    return True


def test_the_fixtures_are_split_alike():
    accepted = [path.name for path in BIB_FILES if _same_as_bibtexparser(decode(path.read_bytes()))]
    # Not a vacuous comparison: the regular exports go the fast way (sample.bib and
    # irregular.bib hold a broken entry, bibtex_macros.bib @string: bibtexparser).
    assert {"no_year_no_id.bib", "utf16_bom.bib", "wos_field_case.bib"} <= set(accepted)


def test_the_benchmark_entries_are_split_alike():
    text = "".join(bibtex_entry(i) for i in range(3000))
    assert _same_as_bibtexparser(text)
    assert len(_fast_split(text).entries) == 3000


ACCEPTED = {
    "plain": "@article{a,\n  title = {One},\n  year = 2020\n}\n",
    "quoted value with braces and commas": '@article{a, title = "A {B}, c} d", year = {2020}}',
    "escaped braces and quotes": r'@article{a, title = {x \} y \{ z}, note = "say \"hi\""}',
    "a backslash before a backslash": "@article{a, title = {a\\\\} b}}",
    "nested braces": '@article{a, title = {{The {RNA} {\\"o}}}}',
    "trailing comma": "@article{a, title = {x},\n}\n",
    "no fields": "@article{lonely}\n",
    "text between entries": 'Zotero\n{weird} "text", = here\n@book{b, title={T}}\n% end',
    "explicit comment and preamble": (
        "@comment{jabref-meta: {x}}\n@preamble{{\\x}}\n@misc{c, note={n}}"
    ),
    "a plain @ in a value": "@misc{c, note = {mail a@b.org}, url = {x@y}}",
    "equals sign in a value": "@misc{c, url = {http://x/?a=b&c=d}, note = a=b}",
    "duplicate keys": "@misc{k, title={1}}\n@misc{k, title={2}}\n@misc{K, title={3}}",
    "crlf": "@article{a,\r\n  title = {One},\r\n  year = 2020\r\n}\r\n",
    "type case and spaces": "@ARTICLE  {A1, Title={x}}",
}

REFUSED = {
    "parentheses": "@article(a, title = {x})",
    "@string": "@string{foo = {bar}}\n@misc{a, title = foo}",
    "a block start in a value": "@misc{a, note = {see\n@misc{b, title={x}}",
    "unterminated": "@article{a, title = {x}\n",
    "repeated field": "@article{a, title = {x}, Title = {y}}",
    "escaped newline": "@article{a, title = {x\\\ny}}",
    "quote escape in quotes": '@article{a, title = "a {"} b"}',
    "missing comma after key": "@article{a title = {x}}",
    "field without a value": "@article{a, title, year = 2020}",
    "too deep": "@article{a, title = {1{2{3{4{5{6}}}}}}}",
}


@pytest.mark.parametrize("text", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_regular_shapes_are_split_alike(text):
    assert _same_as_bibtexparser(text)


@pytest.mark.parametrize("text", REFUSED.values(), ids=REFUSED.keys())
def test_irregular_shapes_go_to_bibtexparser(text):
    assert _fast_split(text) is None


# Random text from the characters the splitter cares about, in runs that make entries.
_PIECES = st.sampled_from(
    ["@article{", "@misc {", "@comment{", "@string{", "@(", "{", "}", '"', ",", "=", "\\",
     "\n", " ", "\t", "a", "Key", "title", "year = ", "@", "#", "(", ")", '{"}', "{\\\"o}",
     "x@y", "\r\n", "é", "%"]
)  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PIECES, max_size=60))
def test_random_text_is_split_alike_or_refused(pieces):
    _same_as_bibtexparser("".join(pieces))


_VALUE_PIECES = st.sampled_from(
    ["x", " ", ",", "=", "{", "}", '"', "\\", "\\{", "\\}", '\\"', "@", "\n", "{a}", "é"]
)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["title", "Author", "year", "note"]),
            st.lists(_VALUE_PIECES, max_size=12),
        ),
        max_size=5,
    ),
    st.sampled_from(["{}", '""', ""]),
)
def test_random_entries_are_split_alike_or_refused(fields, enclosing):
    body = ",\n".join(
        f"  {name} = {enclosing[:1]}{''.join(value)}{enclosing[1:]}" for name, value in fields
    )
    _same_as_bibtexparser(f"@article{{k,\n{body}\n}}\n@book{{b, title = {{T}}}}\n")


def test_both_splitters_import_the_same_entries():
    """The whole BibTeX import, fast split on and off: the same parsed entries."""
    for path in BIB_FILES:
        text = decode(path.read_bytes())
        fast = [e for batch in iter_bibtex(text) for e in batch]
        slow = [e for batch in iter_bibtex(text, fast_split=False) for e in batch]
        assert fast == slow, path.name
    text = "".join(bibtex_entry(i) for i in range(5000))
    assert [e for b in iter_bibtex(text) for e in b] == [
        e for b in iter_bibtex(text, fast_split=False) for e in b
    ]


def test_a_field_given_twice_keeps_the_first_and_loses_no_entry():
    """bibtexparser turned an entry with ``title`` twice into a block nothing read: the
    entry vanished from the import without a word. ``Title`` after ``title`` kept the
    last. Both keep the first now (as BibTeX does) and say so in the report."""
    text = (
        "@article{twice,\n  title = {One},\n  title = {Two},\n  year = 2020,\n}\n"
        "@article{cased, title={Three}, Title={Four}, year=2021}\n"
        "@article{fine, title={Five}, year=2022}\n"
    )
    for fast_split in (True, False):
        entries = [e for batch in iter_bibtex(text, fast_split=fast_split) for e in batch]
        assert [(e.key, e.record["title"]) for e in entries] == [
            ("twice", "One"),
            ("cased", "Three"),
            ("fine", "Five"),
        ]
        assert entries[0].warnings == ["field 'title' given twice: the first is kept"]
        assert entries[1].warnings == ["field 'Title' given twice: the first is kept"]
        assert entries[2].warnings == []
    assert [e.key for e in parse_file(text.encode(), "lib.bib")] == ["twice", "cased", "fine"]
