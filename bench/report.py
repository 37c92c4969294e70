"""A section's figures as text: its single figures on a line each, its lists as tables."""

from typing import Any


def cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(rows: list[dict[str, Any]]) -> list[str]:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    cells = [[cell(row.get(c, "")) for c in columns] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
    return lines


def print_section(name: str, figures: dict[str, Any]) -> None:
    print(f"\n== {name}")
    for key, value in figures.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            print(f"-- {key}")
            for line in table(value):
                print("  " + line)
        else:
            print(f"  {key}: {cell(value)}")
    print(flush=True)
