"""Applies a Plan to the host, step by step, through Host; the steps below share the run's
record (record.py)."""

from __future__ import absolute_import, print_function

import os
import pwd

from ..bundle import wheels
from ..contract import archive
from ..errors import InstallError, IntegrityError, PrerequisitesMissing, Unhealthy, say
from ..host import health, pristine
from ..host.facts import ids_of, java_version
from ..host.leftovers import sweep as sweep_leftovers
from ..host.ownership import ONCE_SERVICE, PREFIX_DIRS, root_written
from ..host.prefixlock import take as take_lock
from ..host.processes import read_pid
from ..host.state import load_state
from ..host.system import clean_env, read_or_none
from ..host.users import create_user
from ..plan.fingerprint import fingerprint, legacy_fingerprint, program_component, started_with
from ..render import normalize
from ..render.supervisordconf import global_sections, parse_conf
from . import previous, programs, rolling, selfcopy, smokejar, zksnapshot
from .healthcheck import check_health
from .record import begin, save_state, track
from .supervisord import start_hint, unit_name

MYPY = False
if MYPY:  # types for mypy only: Python 2.7 and 3.6+ need no typing module at run time
    from typing import Any, Dict, Optional  # noqa: F401

    from ..plan.model import Plan  # noqa: F401


SYSTEMD_DIR = "/etc/systemd/system"

# --- the steps ---


class Installer(object):
    """Applies a Plan to the host, step by step, through Host."""

    def __init__(self, plan):
        # type: (Plan) -> None
        self.plan = plan
        self.bundle = plan.bundle
        self.prefix = plan.prefix
        self.run = begin(plan)
        self.host = self.run.host

    def install(self):
        # type: () -> Optional[str]
        plan = self.plan
        self.lock()
        sweep_leftovers(self.host)
        self.service_user()
        for rel, mode in PREFIX_DIRS:
            self.host.ensure_dir(rel, mode)
        self.host.clear_planted(ONCE_SERVICE, root_written(self.run.state))
        if plan.upgrade and plan.upgrade.snapshot_first:
            zksnapshot.make_snapshot(self.host, plan, plan.upgrade.snapshot_first)
        if plan.upgrade:
            previous.keep(self.run)
        save_state(self.run)
        self.python_env()
        self.releases()
        save_state(self.run)
        self.configs()
        selfcopy.install_package(self.run)
        smokejar.place(self.run, self.bundle)
        if plan.init == "systemd":
            self.systemd_unit()
        else:
            self.drop_systemd_unit()
        save_state(self.run)
        if plan.args.no_start:
            self.say_not_started()
            return None
        if plan.upgrade:
            previous.before_start(plan, self.run)
        programs.start(plan, self.run)
        if plan.dry_run:
            return None
        self.run.state["programs"] = dict(plan.fingerprints)
        save_state(self.run)
        try:
            return check_health(plan) + rolling.after_start(plan)
        except Unhealthy as exc:
            failed = exc
        raise Unhealthy("%s\n%s" % (failed, self.left_running()))

    def left_running(self):
        # type: () -> str
        """What a failed health check leaves behind, and how to stop it or try again: the
        programs stay with supervisord, which keeps restarting the failing one."""
        prefix_flag = " --prefix %s" % self.prefix
        try:
            infos = health.supervisor(self.plan.socket).supervisor.getAllProcessInfo()
        except Exception:  # supervisord itself is gone: nothing runs
            return "nothing of this installation runs (supervisord does not answer on %s)" % (
                self.plan.socket
            )
        lines = [
            "left running: supervisord (pid %s, config %s) with these programs; it restarts "
            "the ones that fail:" % (read_pid(self.plan.pidfile) or "?", self.plan.conf_path)
        ]
        for info in infos:
            lines.append(
                "  %-17s %-9s %s"
                % (info["name"], info["statename"], "pid %s" % info["pid"] if info["pid"] else "")
            )
        lines.append(
            "to stop them: %s stop all (supervisord stays; ./install.sh --uninstall%s stops it "
            "too and removes the installation, keeping data and logs); to retry: fix the cause "
            "above and run ./install.sh again with the same flags"
            % (self.host.abs("bin/stormctl"), prefix_flag)
        )
        return "\n".join(lines)

    def service_user(self):
        # type: () -> None
        plan = self.plan
        if not plan.user:
            return
        if ids_of(plan.user) is None:
            try:
                create_user(self.host, plan.user)
                self.run.state["user_created"] = True
            except InstallError:
                # Another install (at another prefix) created it meanwhile: use it as found.
                if ids_of(plan.user) is None:
                    raise
        if plan.dry_run and ids_of(plan.user) is None:
            return
        entry = pwd.getpwnam(plan.user)
        self.host.service = (entry.pw_uid, entry.pw_gid)

    def lock(self):
        # type: () -> None
        """PREFIX/state/lock before the first change (prefixlock.py); a run that planned on
        what another run has changed since starts again."""
        if self.plan.dry_run:
            return
        self.lock_file = take_lock(self.host)
        if load_state(self.prefix) != self.plan.state:
            raise InstallError(
                "another run changed %s while this one was planning; run again" % self.prefix
            )

    # Python environment for supervisord

    def python_env(self):
        # type: () -> None
        plan = self.plan
        entry = plan.python_entry
        record = plan.python_record()
        if not plan.site_matches():
            old = self.run.old.get("python")
            why = None
            if old and old.get("interpreter") != record["interpreter"]:
                why = "interpreter %s -> %s" % (old.get("interpreter"), record["interpreter"])
            elif old and old.get("version") != record["version"]:
                why = "Python %s -> %s" % (old.get("version"), record["version"])
            elif old:
                why = "its lock changed"
            if entry is None:  # preflight made it a problem: never planned without one
                raise InstallError(
                    "this bundle has no packages for Python %s" % plan.python_version
                )
            self.install_site(entry, why)
            self.run.site_changed = True
            self.run.state["python"] = record
        rel = "python/interpreter"
        data = "%s\n%s\n" % (plan.python, plan.python_version)
        if self.host.write(self.host.abs(rel), data, 0o644, *self.host.owner):
            self.run.site_changed = True
        track(self.run, rel, data)

    def install_site(self, entry, why):
        # type: (Dict[str, Any], Optional[str]) -> None
        plan = self.plan
        site = plan.site_dir
        partial = "%s.partial-%d" % (site, os.getpid())
        lock = self.bundle.path(entry["lock"])
        paths = [self.bundle.path(w) for w in entry["wheels"]]
        supervisor = self.bundle.manifest["components"]["supervisor"]["version"]
        reason = wheels.install_site(
            self.host, plan.python, plan.python_version, supervisor, lock, paths, partial, site, why
        )
        if reason is None:
            return
        why = "; ".join(w for w in (why, reason) if w)
        pip = self.bundle.path(entry["pip"]) + "/pip"
        # -E -S: nothing of this host's Python setup (PYTHONPATH, site-packages, .pth files)
        # leaks in; --isolated: nor pip's own configuration files and PIP_* variables.
        cmd = [plan.python, "-E", "-S", pip, "install", "-q", "--isolated", "--no-index"]
        cmd += ["--no-cache-dir", "--disable-pip-version-check", "--no-warn-script-location"]
        cmd += ["--find-links", self.bundle.path("python/wheels"), "--require-hashes"]
        cmd += ["--target", partial, "-r", lock]
        text = "install supervisor %s for Python %s into %s (pip from the bundled wheel%s)" % (
            supervisor,
            plan.python_version,
            site,
            "; " + why if why else "",
        )
        if plan.dry_run:
            self.host.change(text)
            return
        self.host.discard(partial)
        try:
            self.host.command(text, cmd, timeout=600, env=clean_env())
            if not os.path.isfile(os.path.join(partial, "bin", "supervisord")):
                raise InstallError("pip installed no bin/supervisord into %s" % partial)
            self.host.swap_in(partial, site)
        finally:
            self.host.discard(partial)

    # releases and symlinks

    def releases(self):
        # type: () -> None
        releases_dir = self.host.abs("releases")
        for name, component in sorted(self.plan.components().items()):
            top = component["top"]
            if not os.path.isdir(os.path.join(releases_dir, top)):
                self.host.change(
                    "unpack %s into %s/%s" % (component["artifact"], releases_dir, top)
                )
                if not self.plan.dry_run:
                    self.extract(component, releases_dir)
            state = self.run.state
            if top not in state["releases"]:
                state["releases"] = sorted(state["releases"] + [top])
            self.host.symlink(name, "releases/" + top)
            if name not in state["links"]:
                state["links"] = sorted(state["links"] + [name])
            if name == "storm":
                self.storm_logs(top)
        if self.plan.bundled_jdk and self.plan.java_home and not self.plan.dry_run:
            java = os.path.join(self.plan.java_home, "bin", "java")
            major, reason = java_version(java)
            if major is None:
                raise PrerequisitesMissing(
                    [
                        "the bundle's JDK does not run on this host (%s: %s); fix: install "
                        "Java %s and set JAVA_HOME"
                        % (java, " ".join(reason or []), self.plan.java_major)
                    ]
                )
        if not self.plan.bundled_jdk and os.path.islink(self.host.abs("jdk")):
            self.host.remove(self.host.abs("jdk"))

    def storm_logs(self, top):
        # type: (str) -> None
        """Storm writes its daemon and worker logs to STORM_HOME/logs (0.9.x has no setting
        to move them): point that at PREFIX/logs/storm, which the service user owns, so the
        release itself stays root's and untouched otherwise."""
        rel = "releases/%s/logs" % top
        path = self.host.abs(rel)
        if os.path.isdir(path) and not os.path.islink(path):
            if os.listdir(path):
                return  # a release shipping log files of its own: leave it be
            self.host.remove(path)
        self.host.symlink(rel, "../../logs/storm")

    def extract(self, component, releases_dir):
        # type: (Dict[str, Any], str) -> None
        unsafe = None
        try:
            archive.extract(self.bundle.path(component["artifact"]), releases_dir, component["top"])
        except archive.UnsafeArchive as exc:
            unsafe = exc
        if unsafe is not None:
            raise IntegrityError(
                "%s has an unsafe entry, %s; nothing of it was kept. The bundle is not what the "
                "build checked: copy it again" % (component["artifact"], unsafe)
            )

    # configs

    def configs(self):
        # type: () -> None
        plan = self.plan
        host = self.host
        run = self.run
        data = plan.password + "\n"
        uid, gid = host.owner
        host.write(host.abs("etc/web-password"), data, 0o600, uid, gid, show_diff=False)
        track(run, "etc/web-password", data)
        conf_rel = "etc/supervisord.conf"
        conf_path = host.abs(conf_rel)
        old_conf = read_or_none(conf_path)
        # What the running programs were started with, before it is overwritten: a record of
        # the byte scheme is translated from these (started_with).
        on_disk = [(rel, read_or_none(host.abs(rel)), mode) for rel, _, mode in plan.rendered]
        before = [(rel, data, mode) for rel, data, mode in on_disk if data is not None]
        for rel, content, mode in plan.rendered:
            uid, gid = host.ids_for(rel)
            parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
            if parent and parent not in host.created and not os.path.isdir(host.abs(parent)):
                host.ensure_dir(parent, 0o755)
            changed = host.write(host.abs(rel), content, mode, uid, gid)
            run.conf_changed = run.conf_changed or (changed and rel == conf_rel)
            track(run, rel, content)
        keep = set(["etc/web-password", "python/interpreter"] + [r for r, _, _ in plan.rendered])
        keep |= set(r for r in run.state["files"] if r.startswith((selfcopy.LIB, smokejar.LIB)))
        for rel in sorted(set(run.state["files"]) - keep):
            host.remove(host.abs(rel))
            del run.state["files"][rel]
        if not plan.dry_run:
            # What was written, for a later check of hand edits (check.py).
            pristine.save(
                self.prefix,
                plan.rendered,
                lambda path, data, mode: host._atomic(path, data, mode, *host.owner),
            )
        new = parse_conf(plan.conf_text)
        if old_conf is not None:
            run.global_changed = global_sections(parse_conf(old_conf)) != global_sections(new)
        jdk = plan.bundled_jdk["top"] if plan.bundled_jdk else None
        for name in plan.program_order:
            how = (new["program:" + name], program_component(name))
            component = self.bundle.components[how[1]]
            recorded = run.state["programs"].get(name)
            if recorded is not None and ":" not in recorded:
                run.state["programs"][name] = started_with(
                    recorded,
                    legacy_fingerprint(how[0], how[1], component, before, jdk),
                    fingerprint(how[0], how[1], component, before, jdk),
                )

    def systemd_unit(self):
        # type: () -> None
        plan = self.plan
        path = os.path.join(SYSTEMD_DIR, unit_name(self.prefix))
        old = read_or_none(path)
        wrote = self.host.write(path, plan.unit_text or b"", 0o644)
        # A comment of the unit (its header names the bundle) restarts nothing.
        meant = normalize.digest(path, plan.unit_text or b"")
        self.run.unit_changed = wrote and (old is None or normalize.digest(path, old) != meant)
        if wrote and not self.run.unit_changed:
            self.host.command("reload systemd's units", ["systemctl", "daemon-reload"])
        self.run.state["unit"] = path

    def drop_systemd_unit(self):
        # type: () -> None
        """--init none after a systemd installation: supervisord leaves systemd's care."""
        unit = self.run.old.get("unit")
        if not unit or not os.path.exists(unit):
            return
        if health.supervisord_state(self.plan.socket) is not None:
            programs.stop_supervisord(self.plan, self.run, "it moves from systemd to --init none")
        name = os.path.basename(unit)
        self.host.command("disable %s" % name, ["systemctl", "disable", name])
        self.host.remove(unit)
        self.host.command("reload systemd's units", ["systemctl", "daemon-reload"])

    def say_not_started(self):
        # type: () -> None
        if self.plan.dry_run:
            return
        if health.supervisord_state(self.plan.socket) is not None:
            say(
                "--no-start: supervisord runs on with what it had; apply changes with "
                "%s update" % self.host.abs("bin/stormctl")
            )
        else:
            say("--no-start: nothing started; start with: %s" % start_hint(self.plan))
