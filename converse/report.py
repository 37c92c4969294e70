"""What a run prints, turn by turn, and its JUnit XML (one testsuite per script, one
testcase per turn)."""

import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

from converse.runner import ScriptResult, TurnResult

SAY_SHOWN = 60


def quoted(say: str) -> str:
    return repr(say if len(say) <= SAY_SHOWN else say[:SAY_SHOWN] + "…")


def turn_lines(turn: TurnResult) -> list[str]:
    if turn.skipped:
        return [f"  SKIP  turn {turn.number}  {quoted(turn.say)}  (an earlier turn failed)"]
    tools = f"tools: {', '.join(turn.tools)}; " if turn.tools else ""
    status = "PASS" if turn.passed else "FAIL"
    head = f"  {status}  turn {turn.number}  {quoted(turn.say)}  ({tools}{turn.seconds:.1f} s)"
    return [head, *(f"        {problem}" for problem in turn.problems)]


def printer(write: Callable[[str], None]) -> Callable[[TurnResult], None]:
    """Prints each turn as it finishes."""
    return lambda turn: write("\n".join(turn_lines(turn)))


def summary(results: list[ScriptResult]) -> str:
    turns = [t for r in results for t in r.turns]
    failed_scripts = sum(not r.passed for r in results)
    counts = {
        "passed": sum(t.passed for t in turns),
        "failed": sum(bool(t.problems) for t in turns),
        "skipped": sum(t.skipped for t in turns),
    }
    verdict = "FAILED" if failed_scripts else "PASSED"
    detail = ", ".join(f"{n} {what}" for what, n in counts.items() if n)
    return (
        f"{verdict}: {len(results) - failed_scripts} of {len(results)} scripts passed "
        f"(turns: {detail or 'none'})"
    )


def junit(results: list[ScriptResult], path: Path) -> None:
    suites = ET.Element("testsuites", name="dealagent converse")
    for result in results:
        turns = result.turns
        suite = ET.SubElement(
            suites,
            "testsuite",
            name=result.script.name,
            file=result.script.file,
            tests=str(max(len(turns), 1)),
            failures=str(sum(bool(t.problems) for t in turns)),
            errors=str(int(result.error is not None)),
            skipped=str(sum(t.skipped for t in turns)),
            time=f"{sum(t.seconds for t in turns):.3f}",
        )
        if result.error is not None:
            case = ET.SubElement(suite, "testcase", classname=result.script.name, name="start")
            ET.SubElement(case, "error", message=result.error).text = result.error
        for turn in turns:
            case = ET.SubElement(
                suite,
                "testcase",
                classname=result.script.name,
                name=f"turn {turn.number}: {turn.say}",
                time=f"{turn.seconds:.3f}",
            )
            if turn.skipped:
                ET.SubElement(case, "skipped", message="an earlier turn failed")
            elif turn.problems:
                failure = ET.SubElement(case, "failure", message=turn.problems[0])
                failure.text = "\n".join(turn.problems)
    ET.indent(suites)
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)
