"""The runtime: run a cascade spec against OpenAI-compatible endpoints.

``endpoints`` (the TOML config), ``client`` (robust async generation), ``prompts`` and
``extract`` (what is asked and what is kept), ``runner`` (the cascade loop and summary),
``api`` (:func:`run_spec`), and ``replay_server`` (a loopback server replaying recorded
generations, for tests and dry runs). Problems come from :mod:`planner.problems`, execution
goes through an executor of :mod:`planner.sandbox.grid`, and records are written in the
format of :mod:`planner.records.run`.
"""
