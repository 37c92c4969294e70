"""docs/asyncapi.yaml read once, and a check of a frame against its message's schema."""

from pathlib import Path
from typing import Any

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT_PATH = ROOT / "docs" / "asyncapi.yaml"
DOCUMENT = yaml.safe_load(DOCUMENT_PATH.read_text())
BASE = "urn:dealagent:asyncapi"
REGISTRY = Registry().with_resource(BASE, Resource.from_contents(DOCUMENT, DRAFT7))


def messages_by_type(action: str) -> dict[str, str]:
    """The frame `type` of each message an operation with `action` lists -> its name."""
    found = {}
    for operation in DOCUMENT["operations"].values():
        if operation["action"] != action:
            continue
        for ref in operation["messages"]:
            name = ref["$ref"].rsplit("/", 1)[-1]
            payload = DOCUMENT["components"]["messages"][name]["payload"]
            found[payload["properties"]["type"]["const"]] = name
    return found


CLIENT_MESSAGES = messages_by_type("receive")  # what the server receives
SERVER_MESSAGES = messages_by_type("send")


def problems(frame: dict[str, Any], messages: dict[str, str]) -> list[str]:
    """Why `frame` does not match its message's payload schema (none when it does)."""
    if frame.get("type") not in messages:
        return [f"no message of type {frame.get('type')!r}"]
    pointer = f"{BASE}#/components/messages/{messages[frame['type']]}/payload"
    validator = jsonschema.Draft7Validator(
        {"$ref": pointer}, registry=REGISTRY, format_checker=jsonschema.FormatChecker()
    )
    return [error.message for error in validator.iter_errors(frame)]
