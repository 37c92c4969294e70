"""The project's conversation scripts (tests/conversations/*.yaml) as test items, one per
script, all played against one `dealagent serve` process started for the first of them."""

import asyncio
import contextlib
from pathlib import Path

import pytest

from converse.report import turn_lines
from converse.runner import Login, ScriptResult, run_script
from converse.script import load_script
from tests import serve_process as serve

SERVER = pytest.StashKey[str]()
SERVE_ENV = {"REGISTER_MAX_PER_CLIENT": "1000"}  # a throwaway user per script, all from here


def conversation_server(config: pytest.Config) -> str:
    """The base URL of the run's shared `dealagent serve`, started on first use and stopped
    when the run ends."""
    if SERVER not in config.stash:
        stack = contextlib.ExitStack()
        config.add_cleanup(stack.close)
        home = stack.enter_context(serve.scratch_home())
        port = serve.free_port()
        proc = serve.start_serve(home, port, env=SERVE_ENV)
        stack.callback(serve.stop_serve, proc, home)
        base_url = f"http://127.0.0.1:{port}"
        serve.wait_for_health(f"{base_url}/healthz", proc)
        config.stash[SERVER] = base_url
    return config.stash[SERVER]


class ScriptFile(pytest.File):
    def collect(self) -> list[pytest.Item]:
        item = ScriptItem.from_parent(self, name=self.path.stem)
        item.add_marker(pytest.mark.once)  # the script runner's checks: one CI pass is enough
        return [item]


class ScriptFailed(Exception):
    def __init__(self, result: ScriptResult) -> None:
        super().__init__(result.script.file)
        self.result = result


class ScriptItem(pytest.Item):
    def runtest(self) -> None:
        script = load_script(self.path)
        base_url = conversation_server(self.config)
        result = asyncio.run(run_script(base_url, script, Login(), turn_timeout_s=30))
        if not result.passed:
            raise ScriptFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException]) -> str:
        if isinstance(excinfo.value, ScriptFailed):
            result = excinfo.value.result
            lines = [f"start: {result.error}"] if result.error else []
            return "\n".join(lines + [line for t in result.turns for line in turn_lines(t)])
        return super().repr_failure(excinfo)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"conversation: {self.name}"


def collect(file_path: Path, parent: pytest.Collector) -> ScriptFile | None:
    if file_path.suffix == ".yaml" and file_path.parent.name == "conversations":
        return ScriptFile.from_parent(parent, path=file_path)
    return None
