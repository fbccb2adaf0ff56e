"""Redactor (drill.core.redact): whole values of any length, free text from MIN_FREE_TEXT
characters, escaped forms, and secrets taken from the environment."""

from __future__ import annotations

import json

import pytest

from drill.core.redact import MASK, MIN_FREE_TEXT, PLACEHOLDERS, Redactor


def red(*secrets: str) -> Redactor:
    r = Redactor(from_env=False)
    for s in secrets:
        r.add(s)
    return r


@pytest.mark.parametrize("secret", ["x", "ab", "q7z", 'a"\\'])
def test_whole_values_of_any_length_are_scrubbed(secret: str) -> None:
    r = red(secret)
    obj = {"a": secret, "b": [secret, "other"], "c": (secret,), "d": {"e": {secret}}, secret: 1}
    assert r.scrub_obj(obj) == {"a": MASK, "b": [MASK, "other"], "c": [MASK], "d": {"e": [MASK]}, MASK: 1}


def test_short_secrets_are_not_scrubbed_from_free_text() -> None:
    r = red("ab", "q7z")
    assert r.scrub("cabbage q7zoo") == "cabbage q7zoo"
    assert r.scrub_obj({"word": "cabbage"}) == {"word": "cabbage"}


def test_scrub_obj_leaves_other_types_alone() -> None:
    r = red("123456", "1")
    obj = {"n": 123456, "f": 1.0, "none": None, "b": True, 7: "x"}
    assert r.scrub_obj(obj) == obj


def test_secret_inside_a_longer_string_is_scrubbed_as_text() -> None:
    r = red("s3cr3t-abc")
    assert r.scrub_obj({"url": "https://h/?token=s3cr3t-abc&x=1"}) == {"url": "https://h/?token=***&x=1"}
    assert r.scrub_obj(["a s3cr3t-abc b s3cr3t-abc"]) == ["a *** b ***"]


def test_free_text_threshold() -> None:
    at = "k" * (MIN_FREE_TEXT - 1) + "Z"
    below = "m" * (MIN_FREE_TEXT - 2) + "Y"
    r = red(at, below)
    assert r.scrub(f"x{at}x") == "x***x"
    assert r.scrub(f"x{below}x") == f"x{below}x"
    assert r.scrub_obj(below) == MASK


@pytest.mark.parametrize("secret", ['p"a\\ss\nw0rd', "it's \"both\"", "пароль-секрет", "tab\there!", "a.b*c+d(e)?"])
def test_escaped_forms_are_scrubbed(secret: str) -> None:
    r = red(secret)
    doc = {"pw": "prefix " + secret + " suffix"}
    for text in (json.dumps(doc), json.dumps(doc, ensure_ascii=False), repr(doc), str(doc), secret):
        out = r.scrub(text)
        for form in (secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1],
                     repr(secret)[1:-1]):
            assert form not in out, (text, form)
        assert MASK in out


def test_regex_characters_are_literal() -> None:
    r = red("a.b*c+d(e)?")
    assert r.scrub("a.b*c+d(e)? and aXbbbc+d(e)") == "*** and aXbbbc+d(e)"


def test_longest_secret_wins() -> None:
    r = red("abcdef", "abcdefgh")
    assert r.scrub("xx abcdefgh yy abcdef") == "xx *** yy ***"


def test_no_secret_changes_nothing() -> None:
    r = red()
    r.add(None)
    r.add("")
    assert r.scrub('{"a": "b"}') == '{"a": "b"}'
    assert r.scrub_obj({"a": ""}) == {"a": ""}
    assert not r.knows("")


SENSITIVE_NAMES = ["DRILL_T_SECRET", "DRILL_T_PASSWORD", "DRILL_T_TOKEN", "DRILL_T_PASSWD", "DRILL_T_CREDENTIALS",
                   "DRILL_T_PRIVATE_KEY", "DRILL_T_API_KEY", "DRILL_T_WEBHOOK_URL", "drill_t_lower_token"]


@pytest.mark.parametrize("name", SENSITIVE_NAMES)
def test_sensitive_environment_values_are_known(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    value = f"env-value-of-{name.lower()}"
    monkeypatch.setenv(name, value)
    assert Redactor().knows(value)
    assert Redactor().scrub(f"got {value}!") == "got ***!"
    assert not Redactor(from_env=False).knows(value)


def test_short_environment_secret_is_a_whole_value_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_T_PASSWORD", "pw1")
    r = Redactor()
    assert r.scrub_obj({"p": "pw1"}) == {"p": MASK}
    assert r.scrub("apw1b") == "apw1b"


@pytest.mark.parametrize("value", [*PLACEHOLDERS, "TESTING", "True", "NULL"])
def test_placeholder_environment_values_are_ignored(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DRILL_T_SECRET", value)
    assert not Redactor().knows(value)


def test_non_sensitive_and_empty_environment_values_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRILL_T_COLOUR", "blue-green-red")
    monkeypatch.setenv("DRILL_T_EMPTY_SECRET", "")
    r = Redactor()
    assert not r.knows("blue-green-red")
    assert r.scrub("blue-green-red") == "blue-green-red"


def test_repr_form_inside_a_string_with_both_quotes() -> None:
    secret = "it's-secret"
    out = red(secret).scrub(repr({"pw": 'he said "x" ' + secret}))
    assert "s-secret" not in out
