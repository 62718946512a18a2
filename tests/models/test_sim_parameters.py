"""Organism parameters in a `sim:` spec (`sim:opus_like?strength=0.9`): graded organisms
for one experiment, with bare names unchanged."""

from __future__ import annotations

import pytest

from afdsl.check import check_file
from afdsl.diagnostics import AfsError
from afdsl.ir import ModelConfig
from afdsl.models.base import make_backend
from afdsl.registry import ORGANISMS, OrganismError, organism_named
from tests.models.test_sim import BASE, _gap


def test_a_bare_name_is_the_table_organism() -> None:
    for name, organism in ORGANISMS.items():
        assert organism_named(name) is organism


def test_parameters_replace_only_what_they_name() -> None:
    graded = organism_named("opus_like?strength=0.9&query_sd=0.5")
    base = ORGANISMS["opus_like"]
    assert (graded.strength, graded.query_sd, graded.intercept) == (0.9, 0.5, base.intercept)


def test_a_stronger_drive_gives_a_larger_gap() -> None:
    weak = _gap(BASE, spec="sim:opus_like?strength=0.3")
    strong = _gap(BASE, spec="sim:opus_like?strength=4")
    assert strong > weak + 0.1
    assert abs(_gap(BASE, spec="sim:opus_like?strength=0")) < 0.05


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("opus_like?strenght=1", "`strenght=1` in `sim:opus_like?strenght=1` is not an organism"),
        ("opus_like?strength=high", "`strength=high` in `sim:opus_like?strength=high` is not a"),
        ("opus_like?strength", "`strength` in `sim:opus_like?strength` is not an organism"),
        ("refuser?strength=1", "`sim:refuser` takes no parameters"),
        ("opus_lik?strength=1", "unknown simulator organism `sim:opus_lik`"),
    ],
)
def test_a_bad_parameter_is_an_error(name: str, message: str) -> None:
    with pytest.raises(OrganismError) as info:
        organism_named(name)
    assert message in str(info.value)
    with pytest.raises(AfsError) as error:  # the backend says the same, with a hint
        make_backend(ModelConfig(spec=f"sim:{name}"))
    assert message.split(" is ")[0] in error.value.diagnostics[0].message


def test_check_reports_a_bad_parameter_at_the_spec(tmp_path) -> None:
    afs = tmp_path / "e.afs"
    afs.write_text(
        "use helpful_only\nexperiment e {\n  base helpful_only\n"
        "  models [sim:opus_like?strength=2, sim:opus_like?drive=2]\n"
        '  queries ["Write a poem."]\n}\n'
    )
    found = [d for d in check_file(afs).diagnostics if d.severity == "error"]
    assert [d.code for d in found] == ["AFS148"]
    assert "`drive=2`" in found[0].message and found[0].hint and "strength" in found[0].hint
    assert found[0].span is not None and found[0].span.line == 4
