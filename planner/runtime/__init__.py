"""The runtime: run a cascade spec against OpenAI-compatible endpoints.

``endpoints`` (the TOML config), ``client`` (robust async generation), ``prompts`` and
``extract`` (what is asked and what is kept), ``problems`` (HumanEval, MBPP, JSONL),
``execute`` (the sandbox door), ``runner`` (the cascade loop and summary), ``api``
(:func:`run_spec`), and ``replay_server`` (a loopback server replaying recorded
generations, for tests and dry runs). Records are written in the format of
:mod:`planner.records`.
"""
