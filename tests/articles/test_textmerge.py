"""The three-way merge behind an edit conflict: each side's change where only it changed,
a conflict (mine kept) where both changed the same lines differently."""

from hypothesis import given
from hypothesis import strategies as st

from articles.textmerge import merge_texts

BASE = "## Relapses\n\nSteroids shorten a relapse.\n\n## Living with MS\n\nRest helps.\n"


def test_changes_to_different_lines_are_both_kept():
    mine = BASE.replace("Steroids shorten", "Intravenous steroids shorten")
    theirs = BASE.replace("Rest helps.", "Regular rest helps.")
    merge = merge_texts(BASE, mine, theirs)
    assert merge.clean
    assert merge.text == BASE.replace("Steroids shorten", "Intravenous steroids shorten").replace(
        "Rest helps.", "Regular rest helps."
    )


def test_lines_added_by_one_and_removed_by_the_other_elsewhere_merge():
    mine = BASE + "\n## Exercise\n\nActivity helps too.\n"
    theirs = BASE.replace("## Relapses\n\n", "")
    merge = merge_texts(BASE, mine, theirs)
    assert merge.clean
    assert merge.text == theirs + "\n## Exercise\n\nActivity helps too.\n"


def test_both_changing_the_same_line_differently_is_a_conflict_that_keeps_mine():
    mine = BASE.replace("Rest helps.", "Rest helps a little.")
    theirs = BASE.replace("Rest helps.", "Rest helps a lot.").replace("Steroids", "Oral steroids")
    merge = merge_texts(BASE, mine, theirs)
    assert merge.conflicts == 1
    # Mine where both changed; theirs where only they did.
    assert "Rest helps a little." in merge.text and "Oral steroids" in merge.text
    assert "a lot" not in merge.text


def test_a_stripped_final_newline_is_no_change_of_the_last_line():
    """A form strips the body's final newline; the stored base keeps it. Their change to
    the last line is still theirs alone, not a conflict."""
    theirs = BASE.replace("Rest helps.", "Regular rest helps.")
    mine = BASE.replace("Steroids", "Oral steroids").rstrip("\n")
    merge = merge_texts(BASE, mine, theirs)
    assert merge.clean and merge.took_theirs
    assert merge.text == theirs.replace("Steroids", "Oral steroids")
    assert not merge_texts(BASE, mine, BASE).took_theirs


def test_the_same_change_on_both_sides_is_taken_once():
    both = BASE.replace("Rest helps.", "Rest helps with fatigue.")
    assert merge_texts(BASE, both, both).text == both


def test_windows_line_endings_from_the_browser_merge_with_unix_ones():
    mine = BASE.replace("Steroids", "Oral steroids").replace("\n", "\r\n")
    theirs = BASE.replace("Rest helps.", "Regular rest helps.")
    merge = merge_texts(BASE, mine, theirs)
    assert merge.clean
    assert merge.text == BASE.replace("Steroids", "Oral steroids").replace("Rest", "Regular rest")


lines = st.lists(st.sampled_from(["a", "b", "c", "d", "", "## h"]), max_size=12)


def _text(lines: list[str]) -> str:
    return "".join(f"{line}\n" for line in lines)


@given(lines, lines)
def test_one_side_unchanged_gives_the_other_side(base, other):
    base_text, other_text = _text(base), _text(other)
    assert merge_texts(base_text, base_text, other_text).text.splitlines() == other
    assert merge_texts(base_text, other_text, base_text).text.splitlines() == other
    assert merge_texts(base_text, other_text, other_text).clean


@given(st.integers(4, 15), st.data())
def test_edits_two_or_more_lines_apart_always_merge_clean(size, data):
    base = [f"Sentence {n}." for n in range(size)]
    mine_at = data.draw(st.integers(0, size - 1))
    theirs_at = data.draw(st.integers(0, size - 1).filter(lambda n: abs(n - mine_at) >= 2))
    mine, theirs = list(base), list(base)
    mine[mine_at] = "Mine."
    theirs[theirs_at] = "Theirs."
    merge = merge_texts(_text(base), _text(mine), _text(theirs))
    assert merge.clean
    expected = list(base)
    expected[mine_at], expected[theirs_at] = "Mine.", "Theirs."
    assert merge.text.splitlines() == expected
