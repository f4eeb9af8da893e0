"""The JSON Schema of every record format (``records.schema.json`` beside this module).

One schema file holds one definition per format and the parts they share (a solution, a
test generation); :data:`DEFINITIONS` maps each line's ``"format"`` to its definition. A new
record format adds its definition to the file and one entry here.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from .collected import GENERATIONS_FORMAT
from .jsonl import RecordError
from .run import RECORD_FORMAT

SCHEMA_PATH = Path(__file__).with_name("records.schema.json")

#: format name -> definition in the schema's ``$defs``
DEFINITIONS: dict[str, str] = {RECORD_FORMAT: "run_record",
                               GENERATIONS_FORMAT: "generations_record"}


@lru_cache(maxsize=1)
def records_schema() -> dict[str, Any]:
    """The whole schema document."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def record_schema(format_name: str) -> dict[str, Any]:
    """A self-contained schema for one format (its definition, with the shared parts)."""
    definition = DEFINITIONS.get(format_name)
    if definition is None:
        raise RecordError(f"unknown record format {format_name!r}; known: "
                          f"{', '.join(DEFINITIONS)}")
    schema = records_schema()
    return {"$schema": schema["$schema"], "$defs": schema["$defs"],
            "$ref": f"#/$defs/{definition}"}


def validate_record(obj: Any) -> None:
    """Check one parsed line against the schema of its ``"format"``; :class:`RecordError`
    naming the first violation (its JSON path) otherwise."""
    import jsonschema

    if not isinstance(obj, dict):
        raise RecordError("a record line must be a JSON object")
    validator = jsonschema.Draft202012Validator(record_schema(str(obj.get("format"))))
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise RecordError(f"record does not match the schema at {where}: {error.message}")
