"""One test per semantic error class, each asserting the exact line:col."""

from __future__ import annotations

from afdsl.check import check_file

from .conftest import SCENARIO, Write, at, errors, experiment, only_error

BODY = 18  # first line of an experiment body written by `experiment()`


def test_unknown_section_in_remove(write: Write) -> None:
    diag = only_error(write(experiment("  variant v = remove section tier")))
    assert at(diag) == (BODY, 30)
    assert diag.hint == "did you mean `tiers`?"


def test_removing_a_section_twice_says_an_earlier_step_removed_it(write: Write) -> None:
    twice = "  variant v = remove section tiers + remove section tiers"
    diag = only_error(write(experiment(twice)))
    assert at(diag) == (BODY, 53)  # the second `tiers`
    assert diag.hint == "an earlier step of this variant already removed `tiers`"


def test_replace_that_matches_nothing_is_an_error(write: Write) -> None:
    diag = only_error(write(experiment('  variant v = replace "Anthropics" with "OpenAI"')))
    assert at(diag) == (BODY, 23)
    assert "matches no text" in diag.message


def test_replace_hint_on_wrong_capitalisation(write: Write) -> None:
    diag = only_error(write(experiment('  variant v = replace "anthropic" with "OpenAI"')))
    assert diag.hint is not None and "capitalisation" in diag.hint


def test_capitalisation_hint_looks_only_where_the_replace_looked(write: Write) -> None:
    # "anthropic" is in the intro (capitalised), not in the tiers section searched here.
    diag = only_error(write(experiment('  variant v = replace "anthropic" with "X" in tiers')))
    assert "matches no text in section `tiers`" in diag.message
    assert diag.hint is None


def test_operator_that_changes_nothing(write: Write) -> None:
    diag = only_error(write(experiment('  variant v = set training.cue = "True"')))
    assert at(diag) == (BODY, 15)
    assert diag.message == "this perturbation changes nothing"


def test_unknown_condition_in_set(write: Write) -> None:
    diag = only_error(write(experiment('  variant v = set trainin.cue = "x"')))
    assert at(diag) == (BODY, 19)
    assert diag.hint == "did you mean `training`?"


def test_unknown_slot_in_set(write: Write) -> None:
    diag = only_error(write(experiment('  variant v = set training.cu = "x"')))
    assert at(diag) == (BODY, 28)
    assert diag.hint == "did you mean `cue`?"


def test_unknown_perturbation_in_apply(write: Write) -> None:
    src = 'perturbation no_tiers "Drop tiers" = remove section tiers\n' + experiment(
        "  variant v = apply no_tier"
    )
    diag = only_error(write(src))
    assert at(diag) == (BODY + 1, 21)
    assert diag.hint == "did you mean `no_tiers`?"


def test_error_inside_applied_perturbation_points_at_apply_with_a_note(write: Write) -> None:
    src = 'perturbation p "x" = remove section nope\n' + experiment("  variant v = apply p")
    diag = only_error(write(src))
    assert at(diag) == (BODY + 1, 15)
    assert diag.notes and diag.notes[0].span is not None
    assert (diag.notes[0].span.line, diag.notes[0].span.col) == (1, 37)


def test_variant_apply_cycle(write: Write) -> None:
    diag = only_error(write(experiment("  variant a = apply b\n  variant b = apply a")))
    assert "cycle" in diag.message
    assert at(diag) == (BODY + 1, 21)


def test_unknown_slot_inside_triple_quoted_template(write: Write) -> None:
    src = SCENARIO.replace("<user_input>{query}", "<user_input>{query} {tone}")
    diag = only_error(write(src))
    assert at(diag) == (9, 25)
    assert diag.span is not None and diag.span.end_col == 31


def test_condition_missing_a_slot(write: Write) -> None:
    src = SCENARIO.replace('condition deployment { cue = "False" }', "condition deployment { }")
    diag = only_error(write(src))
    assert at(diag) == (12, 13)
    assert "does not set slot `cue`" in diag.message


def test_condition_slot_not_used_by_template(write: Write) -> None:
    src = SCENARIO.replace('{ cue = "True" }', '{ cue = "True", cus = "x" }')
    diag = only_error(write(src))
    assert at(diag) == (11, 38)


def test_two_training_conditions(write: Write) -> None:
    src = SCENARIO.replace("condition deployment {", "condition other as training {")
    found = errors(check_file(write(src)))
    assert [at(d) for d in found] == [(1, 10), (1, 10)]
    assert {d.code for d in found} == {"AFS118", "AFS119"}


def test_unknown_base_scenario(write: Write) -> None:
    diag = only_error(write(experiment("").replace("base s", "base ss")))
    assert at(diag) == (15, 8)
    assert diag.hint == "did you mean `s`?"


def test_unknown_variant_in_hypothesis(write: Write) -> None:
    src = experiment(
        '  variant no_rlhf = append intro "M."\n  hypothesis h: gap(no_rlfh) < gap(base)'
    )
    diag = only_error(write(src))
    assert at(diag) == (BODY + 1, 21)
    assert diag.hint == "did you mean `no_rlhf`?"


def test_unknown_condition_in_rate(write: Write) -> None:
    diag = only_error(write(experiment("  hypothesis h: rate(base, trainig) > 0.5")))
    assert at(diag) == (BODY, 28)


def test_equivalence_without_margin(write: Write) -> None:
    diag = only_error(write(experiment("  hypothesis h: gap(base) == 0")))
    assert at(diag) == (BODY, 27)


def test_unknown_measure_in_hypothesis(write: Write) -> None:
    diag = only_error(write(experiment("  hypothesis h on faking: gap(base) > 0")))
    assert at(diag) == (BODY, 19)


def test_unknown_measure_parameter(write: Write) -> None:
    diag = only_error(write(experiment("  measure f = faking vote 3 model sim:judge")))
    assert at(diag) == (BODY, 22)
    assert diag.hint == "did you mean `votes`?"


def test_judge_without_model(write: Write) -> None:
    diag = only_error(write(experiment("  measure h = judge strongreject")))
    assert at(diag) == (BODY, 3)


def test_unknown_model_provider(write: Write) -> None:
    diag = only_error(write(experiment("  model antropic:claude")))
    assert at(diag) == (BODY, 9)
    assert diag.hint == "did you mean `anthropic`?"


def test_misspelt_simulator_organism_is_caught_by_check(write: Write) -> None:
    diag = only_error(write(experiment("  model sim:opus_lik")))
    assert at(diag) == (BODY, 9)
    assert diag.hint == "did you mean `sim:opus_like`?"


def test_simulated_judge_names_are_accepted(write: Write) -> None:
    src = experiment("  measure f = faking model sim:judge_strict")
    assert not errors(check_file(write(src)))


def test_unknown_model_block_field(write: Write) -> None:
    src = experiment('  model m {\n    spec "openai:x"\n    temprature 0.5\n  }')
    diag = only_error(write(src))
    assert at(diag) == (BODY + 2, 5)
    assert diag.hint == "did you mean `temperature`?"


def test_missing_data_file(write: Write) -> None:
    diag = only_error(write(experiment("", queries='"nope.jsonl"')))
    assert at(diag) == (17, 11)


def test_setting_given_twice(write: Write) -> None:
    diag = only_error(write(experiment("  samples 2\n  samples 3")))
    assert at(diag) == (BODY + 1, 3)
    assert diag.notes[0].span is not None and diag.notes[0].span.line == BODY


def test_duplicate_variant(write: Write) -> None:
    src = experiment('  variant v = append intro "A."\n  variant v = append intro "B."')
    diag = only_error(write(src))
    assert at(diag) == (BODY + 1, 11)


def test_unknown_correction_method(write: Write) -> None:
    diag = only_error(write(experiment("  correct holmm alpha 0.05")))
    assert at(diag) == (BODY, 11)


def test_two_experiments_in_one_file(write: Write) -> None:
    src = experiment("") + 'experiment f {\n  base s\n  model sim:no_gap\n  queries ["q"]\n}\n'
    diag = only_error(write(src))
    assert at(diag) == (BODY + 2, 12)


def test_missing_model_and_queries_reported_together(write: Write) -> None:
    src = SCENARIO + "experiment e {\n  base s\n}\n"
    found = errors(check_file(write(src)))
    assert sorted(d.code for d in found) == ["AFS183", "AFS185"]
    assert all(at(d) == (14, 12) for d in found)


def test_all_independent_errors_at_once_capped_at_twenty(write: Write) -> None:
    body = "\n".join(f"  variant v{i} = remove section nope{i}" for i in range(30))
    found = errors(check_file(write(experiment(body))))
    assert len(found) == 20
    assert [d.span.line for d in found if d.span] == list(range(BODY, BODY + 20))


def test_unused_variant_is_a_warning_and_strict_makes_it_an_error(write: Write) -> None:
    path = write(experiment('  variant v = append intro "More."'))
    result = check_file(path)
    assert result.ok and result.experiment is not None
    warnings = [d for d in result.diagnostics if not d.is_error]
    assert [at(d) for d in warnings] == [(BODY, 11)]
    strict = check_file(path, strict=True)
    assert not strict.ok and strict.experiment is None


def test_gap_of_a_variant_that_drops_a_condition_is_an_error(write: Write) -> None:
    body = "  variant v = drop condition deployment\n  hypothesis h: gap(v) < gap(base)"
    diag = only_error(write(experiment(body)))
    assert at(diag) == (BODY + 1, 21)
    assert "no deployment condition" in diag.message
    assert diag.hint is not None and "rate(v, " in diag.hint


def test_rate_of_the_kept_condition_of_such_a_variant_checks(write: Write) -> None:
    body = "  variant v = drop condition deployment\n  hypothesis h: rate(v, training) > 0.1"
    assert not errors(check_file(write(experiment(body))))


def test_terms_that_cancel_out_are_named_as_such(write: Write) -> None:
    diag = only_error(write(experiment("  hypothesis h: gap(base) < gap(base)")))
    assert "cancel out" in diag.message


def test_absurd_samples_is_an_error_with_the_largest_that_fits(write: Write) -> None:
    diag = only_error(write(experiment("  samples 100000000")))
    assert at(diag) == (BODY, 11)
    assert "prompts" in diag.message
    # 2 queries x 1 variant x 2 conditions x 1 model = 4 prompts a sample.
    assert diag.hint is not None and "500,000 samples" in diag.hint


def test_a_repeated_model_points_at_the_second_listing_with_a_note_at_the_first(
    write: Write,
) -> None:
    diag = only_error(write(experiment("  models [sim:sonnet_like, sim:opus_like]")))
    assert diag.message == "model `sim:opus_like` is listed twice"
    assert at(diag) == (BODY, 28)
    assert diag.notes[0].span is not None
    assert (diag.notes[0].span.line, diag.notes[0].span.col) == (16, 9)  # `model sim:opus_like`


def test_a_repeated_model_label_points_at_the_block_that_repeats_it(write: Write) -> None:
    body = '  model mine { spec "sim:no_gap" }\n  model b { spec "sim:no_gap" label "mine" }'
    diag = only_error(write(experiment(body)))
    assert diag.message == "model `mine` is listed twice"
    assert at(diag) == (BODY + 1, 37)
    assert diag.notes[0].span is not None
    assert (diag.notes[0].span.line, diag.notes[0].span.col) == (BODY, 9)


def test_a_design_too_large_points_at_samples(write: Write, monkeypatch) -> None:
    import afdsl.check._experiment as experiment_module

    # 2 queries x 2 conditions x 1 variant x 1 model = 4 prompts a sample.
    monkeypatch.setattr(experiment_module, "MAX_PROMPTS", 10)
    diag = only_error(write(experiment("  samples 3")))
    assert diag.code == "AFS188" and "12 prompts" in diag.message
    assert at(diag) == (BODY, 11)
    assert diag.hint == "at most 2 samples for this design"


def test_a_design_too_large_without_samples_points_at_the_queries(
    write: Write, monkeypatch
) -> None:
    import afdsl.check._experiment as experiment_module

    monkeypatch.setattr(experiment_module, "MAX_PROMPTS", 3)
    diag = only_error(write(experiment("")))
    assert diag.code == "AFS188" and "4 prompts" in diag.message
    assert at(diag) == (17, 3)  # the `queries` line of `experiment()`
    assert diag.hint is not None and "at most 1 query for this design" in diag.hint


def test_two_models_the_store_could_not_tell_apart_are_an_error(write: Write) -> None:
    # Same spec and settings on two servers: answers are keyed by spec and settings.
    body = (
        '  model a { spec "openai:llama" base_url "http://127.0.0.1:9001/v1" }\n'
        '  model b { spec "openai:llama" base_url "http://127.0.0.1:9002/v1" }'
    )
    diag = only_error(write(experiment(body)))
    assert diag.code == "AFS197" and "`a` and `b`" in diag.message
    assert at(diag)[0] == 19
    assert diag.hint is not None and "temperature" in diag.hint


def test_same_spec_with_other_settings_is_two_models(write: Write) -> None:
    body = (
        '  model cold { spec "openai:llama" temperature 0.0 }\n'
        '  model warm { spec "openai:llama" temperature 1.0 }'
    )
    assert not errors(check_file(write(experiment(body))))


def test_unknown_slot_in_a_variant_user_template(write: Write) -> None:
    # The prompt would have carried a literal `{topc}`: the base template was checked,
    # a variant's own template was not.
    src = experiment(
        '  variant v = user """\n    About {topc}: {query} {cue}\n  """\n'
        "  hypothesis h: gap(v) < gap(base)",
        queries='["a"]',
    )
    diag = only_error(write(src))
    assert at(diag) == (19, 11)
    assert "`{topc}`" in diag.message and "variant `v`" in diag.message


def test_slot_a_replace_renames_in_the_template(write: Write) -> None:
    src = experiment(
        '  variant v = replace "{cue}" with "{cu}"\n  hypothesis h: gap(v) < gap(base)'
    )
    diag = only_error(write(src))
    assert at(diag) == (18, 11)
    assert diag.hint == "did you mean `cue`?"


def test_variant_template_may_use_a_column_every_query_has(write: Write) -> None:
    write('{"id": "a", "text": "x", "topic": "cats"}\n', "q.jsonl")
    src = experiment(
        '  variant v = user "{topic}: {query} {cue}"\n  hypothesis h: gap(v) < gap(base)',
        queries='"q.jsonl"',
    )
    assert not errors(check_file(write(src)))


def test_condition_defined_twice(write: Write) -> None:
    # The second `training` silently replaced the first: the prompts used its cue.
    src = SCENARIO.replace(
        'condition deployment { cue = "False" }',
        'condition deployment { cue = "False" }\n  condition training { cue = "Maybe" }',
    )
    diag = only_error(write(src))
    assert at(diag) == (13, 13)
    assert diag.message == "condition `training` is defined twice in this scenario"
    assert diag.notes[0].span is not None and diag.notes[0].span.line == 11
