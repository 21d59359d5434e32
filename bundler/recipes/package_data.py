"""Where the package's data lives, found through importlib.resources.

`recipes/` sits at the top of the repository and is installed as the package
`bundler.recipe_data` (pyproject.toml maps one onto the other), so a wheel, an sdist and an
editable install all find it the same way. From a bare source checkout that was never
installed, the repository's own folder is used.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from bundler.errors import RecipeError

RECIPES_PACKAGE = "bundler.recipe_data"
ONHOST_PACKAGE = "bundler.onhost"
_SOURCE_RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _folder(package: str) -> Path:
    root = resources.files(package)
    # Callers walk and copy these folders; pip always installs unpacked, so this is a real path.
    if not isinstance(root, Path):
        raise RecipeError(
            f"{package} is inside an archive ({root}); expected an unpacked install: "
            "reinstall bundler with pip"
        )
    return root


def recipes_dir() -> Path:
    """recipes/*.toml, python/ (the locks), storm-defaults/ and zookeeper-samples/."""
    try:
        return _folder(RECIPES_PACKAGE)
    except ModuleNotFoundError:
        if _SOURCE_RECIPES.is_dir():
            return _SOURCE_RECIPES
        raise RecipeError(
            f"the package data {RECIPES_PACKAGE} is not installed and {_SOURCE_RECIPES} is "
            "missing; reinstall bundler"
        ) from None


def onhost_dir() -> Path:
    """The on-host code, installer and templates, copied into each bundle as onhost/."""
    return _folder(ONHOST_PACKAGE)
