"""Every `bundler` command in one table, as pip's commands_dict: its name and its line in
`bundler --help`; the module and function that run it follow from the name.

Nothing is imported here. bundler.cli.entry prints the overview from this table without typer,
and bundler.cli.app imports a command's module only when that command runs (or its help is
shown), so a command pays for its own options and imports alone.
"""

from __future__ import annotations

ABOUT = "Verified, reproducible air-gap bundles for Apache Storm and ZooKeeper."


# In the order `bundler --help` lists them: each command's line there (its own page has its
# docstring). The command NAME runs NAME_command() of bundler.cli.commands.NAME.
COMMANDS: dict[str, str] = {
    "build": "Download, verify and pack Storm, ZooKeeper and supervisord.",
    "render": "Show the config files one inventory host gets, without building.",
    "ports": "Every port each inventory host opens, who reaches it, firewall rules.",
    "verify": "Re-check every file of a bundle against its manifest.",
    "inspect": "Show a bundle's components, sources, sizes, hashes and checks.",
    "recipes": "Supported versions and what each needs (Java, Python).",
    "sbom": "Print the bundle's SBOM (CycloneDX JSON), as carried inside it.",
    "sign": "Sign a bundle with the operator's gpg key (writes BUNDLE.asc).",
    "split": "Cut a bundle into parts, with NAME.parts and NAME.join.sh beside.",
    "join": "Check every part listed in NAME.parts, then rebuild the bundle.",
    "diff": "What differs, down to each host's config keys; exits 0 either way.",
    "ansible": "Write an Ansible project (inventory, site, upgrade, rollback).",
    "rehearse": "Install a bundle on throwaway namespaced hosts, check, remove it.",
}


def module_of(name: str) -> str:
    """The module that defines command name (imported only when it runs or shows its help)."""
    return f"bundler.cli.commands.{name}"


def exit_codes() -> str:
    """The epilog of every --help: the one exit-code table (contract.EXIT_CODES), in a line."""
    from bundler.onhost.contract.contract import exit_codes_text

    return f"Exit codes: {exit_codes_text()}."
