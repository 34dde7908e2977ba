"""The sentence around each citation marker, with its section and position."""

from citations.claims import cited_sentences

BODY = """# Vaccines

Intro without citations. MMR was linked to autism in 12 children [@wakefield]. Later
studies, e.g. Smith et al. in 2002, found no link [@smith; @doi:10.1/x].

## Safety

- A list item claim.[@wakefield] Another sentence.
- `code [@wakefield]` stays code [@other, p. 12].

```
[@wakefield] in a fence
```

| claim | source |
|---|---|
| A **cell** claim [@wakefield] | x |
"""


def test_each_marker_gets_its_sentence_section_and_position():
    found = [(c.keys, c.sentence, c.section, c.line, c.column) for c in cited_sentences(BODY)]
    assert found == [
        (("wakefield",), "MMR was linked to autism in 12 children.", "Vaccines", 3, 66),
        (
            ("smith", "doi:10.1/x"),
            "Later studies, e.g. Smith et al. in 2002, found no link.",
            "Vaccines",
            4,
            51,
        ),
        (("wakefield",), "A list item claim.", "Safety", 8, 21),
        (("other",), "code [@wakefield] stays code.", "Safety", 9, 34),
        (("wakefield",), "A cell claim", "Safety", 17, 20),
    ]


def test_markers_in_code_and_malformed_markers_are_not_claims():
    assert cited_sentences("`[@a]` and\n\n    [@b] indented\n\nBad [@c.] marker.") == []


def test_crlf_and_a_marker_before_any_heading():
    [claim] = cited_sentences("First claim [@a].\r\nSecond line.")
    assert (claim.sentence, claim.section, claim.line, claim.column) == (
        "First claim.",
        "",
        1,
        13,
    )
