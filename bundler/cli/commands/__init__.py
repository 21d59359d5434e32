"""Every `bundler` command in one table, as pip's commands_dict: its name, the module and
function that run it, and its line in `bundler --help`.

Nothing is imported here. bundler.cli.entry prints the overview from this table without typer,
and bundler.cli.app imports a command's module only when that command runs (or its help is
shown), so a command pays for its own options and imports alone.
"""

from __future__ import annotations

from typing import NamedTuple

ABOUT = "Verified, reproducible air-gap bundles for Apache Storm and ZooKeeper."


class Command(NamedTuple):
    module: str  # under bundler.cli.commands
    function: str
    summary: str  # the command's line in `bundler --help`; its own page has its docstring


# In the order `bundler --help` lists them.
COMMANDS: dict[str, Command] = {
    "build": Command(
        "build", "build_command", "Download, verify and pack Storm, ZooKeeper and supervisord."
    ),
    "render": Command(
        "render",
        "render_command",
        "Show the config files one inventory host gets, without building.",
    ),
    "ports": Command(
        "ports",
        "ports_command",
        "Every port each inventory host opens, who reaches it, firewall rules.",
    ),
    "verify": Command(
        "verify", "verify_command", "Re-check every file of a bundle against its manifest."
    ),
    "inspect": Command(
        "inspect",
        "inspect_command",
        "Show a bundle's components, sources, sizes, hashes and checks.",
    ),
    "recipes": Command(
        "recipes", "recipes_command", "Supported versions and what each needs (Java, Python)."
    ),
    "sbom": Command(
        "sbom", "sbom_command", "Print the bundle's SBOM (CycloneDX JSON), as carried inside it."
    ),
    "sign": Command(
        "sign", "sign_command", "Sign a bundle with the operator's gpg key (writes BUNDLE.asc)."
    ),
    "split": Command(
        "split",
        "split_command",
        "Cut a bundle into parts, with NAME.parts and NAME.join.sh beside.",
    ),
    "join": Command(
        "join", "join_command", "Check every part listed in NAME.parts, then rebuild the bundle."
    ),
    "diff": Command(
        "diff", "diff_command", "What differs, down to each host's config keys; exits 0 either way."
    ),
    "ansible": Command(
        "ansible",
        "ansible_command",
        "Write an Ansible project (inventory, site, upgrade, rollback).",
    ),
    "rehearse": Command(
        "rehearse",
        "rehearse_command",
        "Install a bundle on throwaway namespaced hosts, check, remove it.",
    ),
}


def exit_codes() -> str:
    """The epilog of every --help: the one exit-code table (contract.EXIT_CODES), in a line."""
    from bundler.onhost.contract.contract import exit_codes_text

    return f"Exit codes: {exit_codes_text()}."
