"""The README: its tour runs as written (live: `make tour`, or SHOP_TOUR=1 pytest this file), and it
points at nothing outside the repository."""

from __future__ import annotations

import os
import re

import pytest

from tests import readme_tour
from tests.readme_tour import README, ROOT, extract

TEXT = README.read_text(encoding="utf-8")


def test_markers_predict_the_status_of_the_call_they_end():
    script = extract(
        "## A tour with curl\n```sh\n"
        'curl -s "$API/a"\n'
        'curl -s "$API/b" \\\n  -d \'{"x": 1}\'   # → 409: already paid\n'
        "# → 404 in a comment of its own predicts nothing\n"
        'X=$(curl -s "$API/c" | get \'["id"]\')   # → 404\n'
        "```\n## Rules worth knowing\n"
    )
    lines = script.text.splitlines()
    predicted = {lines[line - 1].strip(): status for line, status in script.expected.items()}
    assert predicted == {'curl -s "$API/b" \\': "409", 'X=$(curl -s "$API/c" | get \'["id"]\')   # → 404': "404"}
    assert sorted(script.readme_line.values()) == [3, 4, 5, 6, 7]


def test_the_tour_is_commands_not_prose():
    script = extract(TEXT)
    assert len(script.expected) >= 2  # the 404 of another hall's stock, the 409 of paying twice
    assert "as above" not in script.text
    assert not re.search(r"<[a-z][^>]*>", script.text), "placeholders such as <code> cannot run"
    # every file the tour writes goes under its temp dir, none into the repository
    lines = script.text.splitlines()
    readme_part = "\n".join(lines[number - 1] for number in script.readme_line)
    targets = re.findall(r"(?:^|\s)(?:>>?|-o)\s*(\S+)", readme_part)
    assert targets
    for target in targets:
        assert target.startswith(("/dev/", '"$TOUR/')), target


def test_the_readme_points_at_nothing_outside_the_repository():
    assert "../" not in TEXT
    assert "shared/" not in TEXT
    for target in re.findall(r"\]\(([^)#]+)\)", TEXT):
        if target.startswith(("http://", "https://")):
            continue
        assert (ROOT / target).exists(), target
    assert "(docs/architecture.md)" in TEXT


def test_the_architecture_document_names_only_code_that_exists():
    doc = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    built, _, planned = doc.partition("## Planned")
    assert planned, "parts not built yet are listed under Planned"
    for path in re.findall(r"`((?:shop|search|payments|tests|bench|migrations|docs)/[\w/.]*)`", built):
        assert (ROOT / path.rstrip("/")).exists(), path
    for package in re.findall(r"^  (\w+)/ ", built, flags=re.MULTILINE):
        assert (ROOT / "shop" / package).is_dir(), package


@pytest.mark.skipif(os.environ.get("SHOP_TOUR") != "1", reason="the live tour takes minutes: make tour")
def test_the_readme_tour_runs_as_written(tmp_path):
    result = readme_tour.run(tmp_path)
    assert not result.failures, "\n".join([*result.failures, result.output[-3000:]])
    assert len(result.calls) > 80
