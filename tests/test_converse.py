"""`dealagent converse` as its users run it: a subprocess against the shared live server
(tests/conversation_items.py). A wrong expectation goes red with the difference printed and
in the JUnit XML; a bad script is refused, naming file and line, before any turn runs."""

import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import httpx
import pytest

from api.cli import main
from converse.located_yaml import ScriptError
from converse.script import load_script
from tests.accounts_client import PASSWORD, bearer, new_email
from tests.conversation_items import conversation_server

pytestmark = pytest.mark.once  # the script runner: which PostgreSQL serves makes no difference

SCRIPTS = Path(__file__).parent / "conversations"
WRONG = """\
name: a wrong budget
turns:
  - say: Watch for a 27-inch 4K monitor under $300
    expect:
      tools:
        - name: create_goal
          args: {max_budget: 250}
      effects:
        goal: {title: !re "(?i)television"}
  - say: What's my balance?
"""


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> str:
    return conversation_server(request.config)


def converse(*args: str | Path) -> subprocess.CompletedProcess:
    """The installed command, as its users run it."""
    command = [sys.executable, "-m", "api.cli", "converse", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def converse_here(capsys: pytest.CaptureFixture, *args: str | Path) -> tuple[int, str, str]:
    """The same command in this process (no interpreter to start): status, out, err."""
    with pytest.raises(SystemExit) as exited:
        main(["converse", *map(str, args)])
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_a_wrong_expectation_goes_red_with_the_difference(server, tmp_path):
    wrong = write(tmp_path, "wrong.yaml", WRONG)
    report = tmp_path / "report.xml"
    good = SCRIPTS / "balance_and_refusals.yaml"
    run = converse(good, wrong, "--url", server, "--junit", report)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert 'PASS  turn 3  "What\'s my balance now?"' in out
    assert "FAIL  turn 1  'Watch for a 27-inch 4K monitor under $300'" in out
    assert "tools[0] create_goal args.max_budget: expected 250, got '300'" in out
    assert "goal.title: expected text matching /(?i)television/, got '27-inch 4K monitor'" in out
    assert 'SKIP  turn 2  "What\'s my balance?"  (an earlier turn failed)' in out
    assert out.rstrip().endswith(
        "FAILED: 1 of 2 scripts passed (turns: 3 passed, 1 failed, 1 skipped)"
    )

    suites = ET.parse(report).getroot().findall("testsuite")
    assert [
        (s.get("name"), s.get("tests"), s.get("failures"), s.get("skipped")) for s in suites
    ] == [
        ("the balance, and a message about a goal that is not yours", "3", "0", "0"),
        ("a wrong budget", "2", "1", "1"),
    ]
    failure = suites[1].find("testcase/failure")
    assert failure is not None and "expected 250, got '300'" in failure.get("message")
    assert "television" in failure.text


def test_a_user_of_ones_own_by_email_or_token(server, tmp_path, capsys):
    script = write(
        tmp_path,
        "mine.yaml",
        """\
        turns:
          - say: Watch for a robot vacuum under $400
            expect: {tools: [create_goal]}
        """,
    )
    with httpx.Client(base_url=server + "/api/v1") as api:
        user = api.post("/auth/register", json={"email": new_email(), "password": PASSWORD})
        email = user.json()["email"]
        by_login = converse_here(
            capsys, script, "--url", server, "--email", email, "--password", PASSWORD
        )
        assert by_login[0] == 0, by_login
        tokens = api.post("/auth/login", json={"email": email, "password": PASSWORD}).json()
        by_token = converse_here(capsys, script, "--url", server, "--token", tokens["access_token"])
        assert by_token[0] == 0, by_token
        goals = api.get("/goals", headers=bearer(tokens)).json()
    assert [g["title"] for g in goals["items"]] == ["robot vacuum", "robot vacuum"]

    status, out, _ = converse_here(capsys, script, "--url", server, "--token", "not-a-token")
    assert status == 1
    assert "ERROR  opening the chat socket" in out
    assert "FAILED: 0 of 1 scripts passed (turns: none)" in out


def test_a_bad_script_is_refused_before_any_turn(tmp_path, capsys):
    """The good script first: nothing runs (the URL leads nowhere, so any attempt would
    show as a start error, exit status 1)."""
    bad = write(
        tmp_path, "bad.yaml", "turns:\n  - say: hi\n    expect:\n      replay: {contains: x}\n"
    )
    status, out, err = converse_here(
        capsys, SCRIPTS / "watch_a_monitor.yaml", bad, "--url", "http://127.0.0.1:9"
    )
    assert (status, out) == (2, "")
    assert err == (
        f"refused, no turn was run: {bad}:4: turn 1.expect: unknown key 'replay' "
        "(known: tools, tools_include, reply, error, effects)\n"
    )


EXPECT = "turns:\n  - say: hi\n    expect:\n"
EFFECTS = EXPECT + "      effects:\n"


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("turns: [say: hi\n", 2, "not valid YAML"),
        ("", 1, "the script is empty"),
        ("- say: hi\n", 1, "script: expected a mapping"),
        ("name: x\nturn:\n  - say: hi\n", 2, "script: unknown key 'turn'"),
        ("turns: []\n", 1, "'turns' must be a list of turns"),
        ("turns:\n  - expect: {}\n", 2, "turn 1: 'say' (the user's message) is missing"),
        ("turns:\n  - say: hi\n    say: ho\n", 3, "'say' is given twice"),
        (EXPECT + "      tools: create_goal\n", 4, "expected a list"),
        (EXPECT + "      tools: [{args: {}}]\n", 4, "'name' (the tool's name) is missing"),
        (EXPECT + "      tools: [{name: x, result: 5}]\n", 4, "result: expected a mapping"),
        (EXPECT + "      reply: {matches: x}\n", 4, 'write it !re "…"'),
        (EXPECT + "      reply: {matches: !re '(x'}\n", 4, "not a valid regular expression"),
        (EFFECTS + "        goals: {}\n", 5, "unknown key 'goals'"),
        (EFFECTS + "        balance: {down: 1}\n", 5, "unknown key 'down'"),
        (EFFECTS + "        balance: {down_by: lots}\n", 5, "expected a number of tokens"),
        (EFFECTS + "        deals: {goal_id: x}\n", 5, "'count' is missing"),
        (EFFECTS + "        deals:\n          count: -1\n", 6, "a whole number ≥ 0"),
        (EFFECTS + "        deals: {count: 1, shop: x}\n", 5, "unknown key 'shop'"),
        (EFFECTS + "        notification: {within_s: 0}\n", 5, "0 to 600 seconds"),
        ("turns:\n  - say: hi\n    capture: {goal: reply_text}\n", 3, "a path starts with"),
        ("turns:\n  - say: hi\n    capture: {9x: reply}\n", 3, "not a variable name"),
        ("turns:\n  - say: hi\n  - say: ${goal}?\n", 3, "uses ${goal}, which no earlier"),
        ("turns:\n  - say: hi\n    capture: {g: reply}\n    goal_id: ${g}\n", 2, "uses ${g}"),
    ],
)
def test_what_a_bad_script_is_told(tmp_path, text, line, problem):
    path = write(tmp_path, "bad.yaml", text)
    with pytest.raises(ScriptError) as refused:
        load_script(path)
    assert refused.value.line == line, str(refused.value)
    assert str(refused.value).startswith(f"{path}:{line}: ")
    assert problem in str(refused.value)


def test_the_projects_scripts_read(tmp_path):
    scripts = [load_script(path) for path in sorted(SCRIPTS.glob("*.yaml"))]
    assert len(scripts) >= 3 and all(s.turns for s in scripts)
