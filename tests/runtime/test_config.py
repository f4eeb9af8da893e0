"""The endpoints file: valid inputs load, bad ones fail in one line."""

from __future__ import annotations

import pytest

from planner.runtime.endpoints import (
    EndpointError,
    EndpointStyle,
    check_covers,
    load_endpoints,
)

GOOD = """
[defaults]
base_url = "http://127.0.0.1:8000/v1"
price_per_1m_generated = 1.91

[models."WizardCoder-Python-7B"]
model = "WizardLM/WizardCoder-Python-7B-V1.0"
style = "instruction"

[models.gpt]
base_url = "https://api.example.com/v1"
model = "gpt-x"
api_key_env = "CODECASCADE_TEST_KEY"
supports_n = false
price_per_1m_prompt = 0.5
"""


def write(tmp_path, text, name="endpoints.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_endpoints_load_with_defaults_and_prices(tmp_path, monkeypatch):
    eps = load_endpoints(write(tmp_path, GOOD))
    wiz = eps["WizardCoder-Python-7B"]
    assert wiz.style is EndpointStyle.INSTRUCTION and wiz.base_url.endswith(":8000/v1")
    assert wiz.price_generated == pytest.approx(1.91e-6)
    assert wiz.api_key() == "EMPTY"
    gpt = eps["gpt"]
    assert not gpt.supports_n and gpt.price_prompt == pytest.approx(0.5e-6)
    monkeypatch.delenv("CODECASCADE_TEST_KEY", raising=False)
    with pytest.raises(EndpointError, match="CODECASCADE_TEST_KEY is not set"):
        gpt.api_key()
    monkeypatch.setenv("CODECASCADE_TEST_KEY", "sk-test")
    assert gpt.api_key() == "sk-test"
    check_covers(eps, ["gpt"])
    with pytest.raises(EndpointError, match=r"no endpoint for spec model\(s\) \['34B'\]"):
        check_covers(eps, ["gpt", "34B"])


@pytest.mark.parametrize(("text", "message"), [
    ("[models.a]\nmodel = 'x'\n", "has no base_url"),
    ("[models.a]\nbase_url = 'ftp://x'\nmodel = 'x'\n", "base_url must start with http"),
    ("[models.a]\nbase_url = 'http://x'\nmodel = 'x'\nstyle = 'poem'\n", "style must be"),
    ("[models.a]\nbase_url = 'http://x'\nmodel = 'x'\ntemprature = 0.2\n", "unknown keys"),
    ("[models.a]\nbase_url = 'http://x'\nmodel = 'x'\nmax_tokens = 'many'\n", "must be a int"),
    ("[models.a]\nbase_url = 'http://x'\nmodel = 'x'\ntimeout_s = 'abc'\n",
     "endpoint 'a': timeout_s must be a float, got 'abc'"),
    ("[models.a]\nbase_url = 'http://x'\nmodel = 'x'\ntop_p = 0\n", "invalid top_p"),
    ("[models.a]\nbase_url = 'http://x'\nmodel = 'x'\nlogprobs = 1\n", "must be a bool"),
    ("[defaults]\ntimeout_s = 3\n", "at least one"),
    ("[model.a]\n", "unknown top-level keys"),
    ("models = 3 = 4", "not valid TOML"),
])
def test_bad_endpoint_files_fail_in_one_line(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(EndpointError, match=message) as info:
        load_endpoints(path)
    assert "\n" not in str(info.value)
    assert str(path) in str(info.value)  # every error names the file it is about


def test_every_endpoint_field_is_a_typed_toml_key():
    from dataclasses import fields

    from planner.runtime.endpoints import _FIELD_TYPES, Endpoint

    assert set(_FIELD_TYPES) == {f.name for f in fields(Endpoint)} - {"name"}


def test_missing_endpoints_file(tmp_path):
    with pytest.raises(EndpointError, match="cannot read endpoints file"):
        load_endpoints(tmp_path / "nope.toml")


@pytest.mark.parametrize("pasted", ["sk-proj-AbC123xyz789secretsecret", "Bearer abc.def",
                                    "hf_abcdefGHIJ-klmn/op"])
def test_a_key_pasted_into_api_key_env_is_refused_and_never_printed(pasted):
    from planner.runtime.endpoints import EndpointError, parse_endpoints

    data = {"models": {"m": {"base_url": "http://127.0.0.1:1/v1", "model": "m",
                             "api_key_env": pasted}}}
    with pytest.raises(EndpointError, match=r"must name an?( environment)? variable") as info:
        parse_endpoints(data)
    assert pasted not in str(info.value) and "\n" not in str(info.value)


@pytest.mark.parametrize("pasted", ["ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                                    "sk_live_4eC39HqLyjWDarjtT1zdp7dc", "AKIAIOSFODNN7EXAMPLE",
                                    "hf_AbCdEfGhIjKlMnOpQrStUvWxYz012345",
                                    "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"])
def test_a_key_that_is_also_a_valid_variable_name_is_not_printed(pasted):
    """GitHub, Stripe, AWS, Hugging Face keys and hex tokens are valid variable names: they
    were echoed in "environment variable ... is not set"."""
    from planner.runtime.endpoints import EndpointError, parse_endpoints

    data = {"models": {"m": {"base_url": "http://127.0.0.1:1/v1", "model": "m",
                             "api_key_env": pasted}}}
    with pytest.raises(EndpointError, match="looks like a key itself") as info:
        parse_endpoints(data)
    assert pasted not in str(info.value)


@pytest.mark.parametrize("name", ["OPENAI_API_KEY", "TOGETHER_API_KEY", "my_key", "KEY2",
                                  "CODECASCADE_TEST_KEY", "AZURE_OPENAI_API_KEY_EASTUS2"])
def test_ordinary_variable_names_are_accepted(name):
    from planner.keys import key_variable_problem

    assert key_variable_problem(name) is None


def test_a_non_string_api_key_env_is_not_echoed():
    from planner.runtime.endpoints import EndpointError, parse_endpoints

    data = {"models": {"m": {"base_url": "http://127.0.0.1:1/v1", "model": "m",
                             "api_key_env": 123456789}}}
    with pytest.raises(EndpointError) as info:
        parse_endpoints(data)
    assert "123456789" not in str(info.value)
