"""`bundler recipes`: the supported versions and what each needs (Java, Python)."""

import json
from typing import TYPE_CHECKING, Any

from bundler.cli.options import Json
from bundler.cli.steps import _run

if TYPE_CHECKING:
    from bundler.recipes.recipes import Recipe, SupervisorRecipe


def recipes_command(as_json: Json = False) -> None:
    """Supported versions and what each needs (Java, Python)."""
    from bundler.recipes.recipes import SupervisorRecipe, load_all

    recipes = _run(False, load_all)
    sup = _run(False, SupervisorRecipe.load)
    data = _lines(recipes, sup)
    if as_json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return
    _print_lines(data, recipes, sup)


def _lines(recipes: dict[str, "Recipe"], sup: "SupervisorRecipe") -> dict[str, Any]:
    """Each project's release lines: their versions, file name and facts; supervisor's."""
    data: dict[str, Any] = {}
    for project, recipe in recipes.items():
        lines: dict[str, Any] = {}
        for version in recipe.known:
            comp = recipe.resolve(version)
            f = comp.facts
            entry = lines.setdefault(
                comp.line,
                {"versions": [], "java_min": f.get("java_min")},
            )
            entry["versions"].append(version)
            entry["file"] = comp.artifact.file.replace(version, "{version}")
            for key in ("launcher_python", "nimbus_key", "server_line", "java_min"):
                if key in f:
                    entry[key] = f[key]
            # The newest release of the line speaks for it, a cap included (or its absence).
            entry["java_max"] = f.get("java_max")
        data[project] = lines
    data["supervisor"] = {"default": sup.default, "target_pythons": list(sup.pythons)}
    return data


def _print_lines(
    data: dict[str, Any], recipes: dict[str, "Recipe"], sup: "SupervisorRecipe"
) -> None:
    for project in ("storm", "zookeeper"):
        print(f"{recipes[project].display}:")
        for line, info in data[project].items():
            java = f"Java {info['java_min']}" + (
                f"-{info['java_max']}" if info.get("java_max") else "+"
            )
            extra = (
                f"launcher Python {info['launcher_python']}, {info['nimbus_key']}"
                if project == "storm"
                else f"{info['server_line']}"
            )
            print(
                f"  {line:<5} {info['versions'][0]}..{info['versions'][-1]:<12} {java:<10} {extra}"
            )
    print(f"supervisor {sup.default} (default) for target Python {', '.join(sup.pythons)}")
