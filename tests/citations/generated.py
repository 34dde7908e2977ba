"""Generated citation records, as an export of a large library would hold them.

The import benchmark (``benchmarks/import_bench.py``) writes 10 MB files of them; the
tests split and parse the same shapes. Invented on purpose: they are never shown as
sources of anything (titles say "treatment N", DOIs use the unassigned 10.7777 prefix).
"""

from __future__ import annotations

import json

# Co-authors with LaTeX accents, from a pool of 200 names: a quarter of the entries.
_ACCENTED = [f"M{{\\\"u}}ller{n}, J{{\\'e}}r{{\\^o}}me" for n in range(200)]


def bibtex_entry(i: int) -> str:
    doi = f",\n  doi = {{10.7777/bench.{i}}}" if i % 5 else ""
    second = _ACCENTED[i % 200] if i % 4 == 0 else "Second, Person"
    return (
        f"@article{{gen{i},\n  title = {{Effect of treatment {i} on relapse rate in multiple "
        f"sclerosis}},\n  author = {{Family{i}, Given and {second} and Other, "
        f"Person}},\n  journal = {{Mult Scler J}},\n  year = {{{1990 + i % 35}}},\n  month = "
        f"{['jan', 'jun', 'dec'][i % 3]},\n  volume = {{{i % 40 + 1}}},\n  pages = "
        f"{{{i % 900 + 1}--{i % 900 + 12}}}{doi}\n}}\n\n"
    )


def ris_record(i: int) -> str:
    doi = f"DO  - 10.7777/bench.{i}\n" if i % 5 else ""
    return (
        f"TY  - JOUR\nAU  - Family{i}, Given\nAU  - Müller, Jürgen\nAU  - Other, Person\n"
        f"TI  - Effect of treatment {i} on relapse rate in multiple sclerosis\n"
        f"T2  - Multiple Sclerosis Journal\nJ2  - Mult Scler J\n"
        f"PY  - {1990 + i % 35}/0{1 + i % 9}/\n"
        f"VL  - {i % 40 + 1}\nSP  - {i % 900 + 1}\nEP  - {i % 900 + 12}\n{doi}ER  - \n\n"
    )


def csl_item(i: int) -> str:
    item = {
        "id": f"gen{i}", "type": "article-journal",
        "title": f"Effect of treatment {i} on relapse rate in multiple sclerosis",
        "author": [{"family": f"Family{i}", "given": "Given"},
                   {"family": "Müller", "given": "Jürgen"}, {"family": "Other", "given": "Person"}],
        "container-title": "Multiple Sclerosis Journal", "container-title-short": "Mult Scler J",
        "issued": {"date-parts": [[1990 + i % 35, 1 + i % 12]]}, "volume": str(i % 40 + 1),
        "page": f"{i % 900 + 1}-{i % 900 + 12}",
    }  # fmt: skip
    if i % 5:
        item["DOI"] = f"10.7777/bench.{i}"
    return json.dumps(item, ensure_ascii=False) + ",\n"
