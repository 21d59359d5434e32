#!/usr/bin/env python
# ruff: noqa: UP010, UP031, UP036, RUF005
"""Stand-in for Apache Storm's `bin/storm` launcher (this is not Apache Storm's script).

It behaves the way an installer can observe the real launcher behave: config from
`$STORM_CONF_DIR` or `<storm home>/conf` (plus `~/.storm/storm.yaml` when that exists),
`conf/storm_env.ini` [environment] loaded into the environment, `JAVA_HOME` honoured,
`-c key=value` and `--config FILE` accepted, and the daemon commands end in
`os.execvp(java, ...)` so a process supervisor ends up supervising the JVM.

Where the release holds Apache's own daemons (a Storm 2.x `lib/` with storm-server, whose
`lib-worker/` holds storm-client; a Storm 1.x `lib/` with storm-core), Apache's daemons
(2.x: `nimbus` and `supervisor`; 1.x: all five) start Apache's main classes with the classpath
and system properties Apache's launcher gives them, and `jar`, `kill` and `list` run Apache's
client classes; the rest (and every daemon of a stand-in release) start the stand-in daemon
class. Runs under Python 2.7 and 3.6+ with the standard library only.
"""

from __future__ import print_function

import os
import shlex
import sys
import zipfile

try:
    import configparser
except ImportError:  # Python 2
    import ConfigParser as configparser  # type: ignore[import-not-found,no-redef]

try:
    from urllib.parse import quote_plus
except ImportError:  # Python 2
    from urllib import quote_plus  # type: ignore[attr-defined,no-redef]

MAIN_CLASS = "org.apache.storm.standin.StandinDaemon"
STORM_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
USER_CONF_DIR = os.path.join(os.path.expanduser("~"), ".storm")
CLUSTER_CONF_DIR = os.getenv("STORM_CONF_DIR") or os.path.join(STORM_DIR, "conf")

# daemon -> (config key of its port, real class in 0.9.x, in 1.x, in 2.x)
DAEMONS = {
    "nimbus": (
        "nimbus.thrift.port",
        "backtype.storm.daemon.nimbus",
        "org.apache.storm.daemon.nimbus",
        "org.apache.storm.daemon.nimbus.Nimbus",
    ),
    "supervisor": (
        None,
        "backtype.storm.daemon.supervisor",
        "org.apache.storm.daemon.supervisor.Supervisor",
        "org.apache.storm.daemon.supervisor.Supervisor",
    ),
    "ui": (
        "ui.port",
        "backtype.storm.ui.core",
        "org.apache.storm.ui.core",
        "org.apache.storm.daemon.ui.UIServer",
    ),
    "logviewer": (
        "logviewer.port",
        "backtype.storm.daemon.logviewer",
        "org.apache.storm.daemon.logviewer",
        "org.apache.storm.daemon.logviewer.LogviewerServer",
    ),
    "drpc": (
        "drpc.port",
        "backtype.storm.daemon.drpc",
        "org.apache.storm.daemon.drpc",
        "org.apache.storm.daemon.drpc.DRPCServer",
    ),
}


def die(message):
    # type: (str) -> None
    print(message, file=sys.stderr)
    sys.exit(1)


def to_text(data):
    # type: (bytes) -> str
    if sys.version_info[0] >= 3:
        return data.decode("utf-8")
    return data  # type: ignore[return-value,unused-ignore]


def init_storm_env():
    # type: () -> None
    """Like the real launcher: storm_env.ini values override the shell's environment."""
    ini_file = os.path.join(CLUSTER_CONF_DIR, "storm_env.ini")
    if not os.path.isfile(ini_file):
        return
    parser = configparser.ConfigParser()
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ini_file)
    if parser.has_section("environment"):
        for name, value in parser.items("environment"):
            os.environ[name] = value


# --- a small YAML subset: scalars, quoted strings, [a, b], "- item" lists, one nested map ---


def strip_comment(line):
    # type: (str) -> str
    quote = None
    for i, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
    return line


def split_top(text, sep):
    # type: (str, str) -> list[str]
    """Split on sep outside quotes and brackets."""
    parts = []
    depth = 0
    quote = None
    current = ""
    for char in text:
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == sep and depth == 0:
            parts.append(current)
            current = ""
            continue
        current += char
    parts.append(current)
    return parts


def parse_scalar(text):
    # type: (str) -> object
    text = text.strip()
    if text == "" or text in ("~", "null", "Null", "NULL", "nil"):
        return None
    if text[0] == '"' and text[-1] == '"' and len(text) >= 2:
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if text[0] == "'" and text[-1] == "'" and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text[0] == "[" and text[-1] == "]":
        inner = text[1:-1].strip()
        if not inner:
            return []
        return [parse_scalar(item) for item in split_top(inner, ",")]
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def split_key(text):
    # type: (str) -> tuple[str, str] | None
    """'key: value' -> (key, value); None when the line is not a mapping entry."""
    quote = None
    for i, char in enumerate(text):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == ":" and (i + 1 == len(text) or text[i + 1] in " \t"):
            key = text[:i].strip()
            if len(key) >= 2 and key[0] in "\"'" and key[-1] == key[0]:
                key = key[1:-1]
            return key, text[i + 1 :].strip()
    return None


def parse_yaml(text):
    # type: (str) -> dict[str, object]
    conf = {}  # type: dict[str, object]
    parent = None  # type: str | None
    for raw in text.splitlines():
        line = strip_comment(raw).rstrip()
        if not line.strip() or line.strip() == "---":
            continue
        indented = line[0] in " \t"
        body = line.strip()
        if not indented:
            entry = split_key(body)
            if entry is None:
                continue
            key, value = entry
            conf[key] = parse_scalar(value) if value else None
            parent = None if value else key
        elif parent is not None:
            if body.startswith("- ") or body == "-":
                item = body[1:].strip()
                entry = split_key(item)
                value_item = (
                    {entry[0]: parse_scalar(entry[1])} if entry is not None else parse_scalar(item)
                )
                if not isinstance(conf[parent], list):
                    conf[parent] = []
                conf[parent].append(value_item)  # type: ignore[attr-defined]
            else:
                entry = split_key(body)
                if entry is None:
                    continue
                if not isinstance(conf[parent], dict):
                    conf[parent] = {}
                conf[parent][entry[0]] = parse_scalar(entry[1])  # type: ignore[index]
    return conf


# --- the release: jars, version, config ---


def jars_in(directory):
    # type: (str) -> list[str]
    if not os.path.isdir(directory):
        return []
    return [
        os.path.join(directory, name)
        for name in sorted(os.listdir(directory))
        if name.endswith(".jar")
    ]


def storm_jars():
    # type: () -> list[str]
    return jars_in(STORM_DIR) + jars_in(os.path.join(STORM_DIR, "lib"))


def webapp_jars():
    # type: () -> list[str]
    """The UI, logviewer and DRPC server's jars: lib-webapp/ where the release has one."""
    webapp = jars_in(os.path.join(STORM_DIR, "lib-webapp"))
    return jars_in(STORM_DIR) + webapp if webapp else storm_jars()


def apache_major():
    # type: () -> int
    """2 when lib/ holds Apache's storm-server (Storm 2.x), 1 when it holds Apache's storm-core
    of 1.x, 0 when the release is a stand-in."""
    names = [os.path.basename(jar) for jar in storm_jars()]
    if any(name.startswith("storm-server-") for name in names):
        return 2
    if any(n.startswith("storm-core-1.") and not n.endswith("-standin.jar") for n in names):
        return 1
    return 0


def apache_daemons():
    # type: () -> tuple[str, ...]
    """The daemons that are Apache's: 2.x's Nimbus and supervisor (its UI, logviewer and DRPC
    server are in storm-webapp, not on Maven Central), and every daemon of 1.x."""
    return {2: ("nimbus", "supervisor"), 1: tuple(DAEMONS), 0: ()}[apache_major()]


def read_from_jars(suffix):
    # type: (str) -> str | None
    """Text of the first member whose name ends with suffix, in classpath order."""
    for jar in storm_jars():
        with zipfile.ZipFile(jar) as archive:
            for name in archive.namelist():
                if name == suffix or name.endswith("/" + suffix) or name.endswith("-" + suffix):
                    return to_text(archive.read(name))
    return None


def storm_version():
    # type: () -> str
    props = read_from_jars("version-info.properties")
    if props:
        for line in props.splitlines():
            if line.startswith("version="):
                return line.split("=", 1)[1].strip()
    release = os.path.join(STORM_DIR, "RELEASE")
    if os.path.isfile(release):
        with open(release) as handle:
            return handle.readline().strip()
    return "Unknown"


def read_file(path):
    # type: (str) -> str
    with open(path, "rb") as handle:
        return to_text(handle.read())


def load_config(conf_file, overrides):
    # type: (str, list[str]) -> dict[str, object]
    defaults = read_from_jars("defaults.yaml")
    if defaults is None:
        die("ERROR: no defaults.yaml in any jar under " + STORM_DIR)
    conf = parse_yaml(defaults or "")
    if os.path.isfile(conf_file):
        conf.update(parse_yaml(read_file(conf_file)))
    user_file = os.path.join(USER_CONF_DIR, "storm.yaml")
    if os.path.isfile(user_file):
        conf.update(parse_yaml(read_file(user_file)))
    for override in overrides:
        key, _, value = override.partition("=")
        conf[key.strip()] = parse_scalar(value)
    return conf


def conf_str(conf, key, default):
    # type: (dict[str, object], str, str) -> str
    value = conf.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def conf_list(conf, key, default):
    # type: (dict[str, object], str, list[str]) -> str
    """A list setting as a comma list (a single value counts as a list of one)."""
    value = conf.get(key)
    if value is None:
        value = default
    if not isinstance(value, list):
        value = [value]
    return ",".join(str(item) for item in value)


def java_command():
    # type: () -> str
    java_home = os.getenv("JAVA_HOME")
    if not java_home:
        return "java"
    java = os.path.join(java_home, "bin", "java")
    if not os.path.exists(java):
        die("ERROR:  JAVA_HOME is invalid.  Could not find bin/java at %s." % java_home)
    return java


def version_tuple(version):
    # type: (str) -> tuple[int, int]
    parts = (version.split(".") + ["0", "0"])[:2]
    try:
        return int(parts[0]), int(parts[1])
    except ValueError:
        return 0, 0


def real_class(daemon, version):
    # type: (str, str) -> str
    major = version_tuple(version)[0]
    return DAEMONS[daemon][1 if major == 0 else 2 if major == 1 else 3]  # type: ignore[return-value]


def logging_opts(daemon):
    # type: (str) -> list[str]
    opts = ["-Dlogfile.name=%s.log" % daemon]
    logback = os.path.join(STORM_DIR, "logback", "cluster.xml")
    if os.path.isfile(logback):
        return opts + ["-Dlogback.configurationFile=" + logback]
    return opts + ["-Dlog4j.configurationFile=" + os.path.join(STORM_DIR, "log4j2", "cluster.xml")]


def wildcard(*parts):
    # type: (str) -> str
    return os.path.join(STORM_DIR, *parts) + "/*"


def common_opts(jvmtype, daemon, conf, conf_file, overrides):
    # type: (str, str, dict[str, object], str, list[str]) -> list[str]
    """What Apache's launcher (2.x) puts before the classpath of every Java command."""
    return [
        java_command(),
        jvmtype,
        "-Ddaemon.name=" + daemon,
        "-Dstorm.options=" + ",".join(quote_plus(opt) for opt in overrides),
        "-Dstorm.home=" + STORM_DIR,
        "-Dstorm.log.dir=" + conf_str(conf, "storm.log.dir", os.path.join(STORM_DIR, "logs")),
        "-Djava.library.path=" + conf_str(conf, "java.library.path", ""),
        "-Dstorm.conf.file=" + conf_file,
    ]


def exec_java(args):
    # type: (list[str]) -> None
    print("Running: " + " ".join(args))
    sys.stdout.flush()
    os.execvp(args[0], args)


def exec_apache_daemon(daemon, conf_file, overrides):
    # type: (str, str, list[str]) -> None
    """An Apache daemon, started as Apache's launcher starts it: lib/, extlib/ and
    extlib-daemon/ and the config folder on the classpath (the UI and logviewer also get the
    release's folder, for public/), the daemon's childopts, and its log4j2 configuration."""
    conf = load_config(conf_file, overrides)
    classpath = [wildcard(), wildcard("lib"), wildcard("extlib"), wildcard("extlib-daemon")]
    extra = [STORM_DIR, CLUSTER_CONF_DIR] if daemon in ("ui", "logviewer") else [CLUSTER_CONF_DIR]
    args = common_opts("-server", daemon, conf, conf_file, overrides)
    args += ["-cp", ":".join(classpath + extra)]
    args += shlex.split(conf_str(conf, daemon + ".childopts", ""))
    if apache_major() >= 2:
        args.append("-Djava.deserialization.disabled=true")
    args += [
        "-Dlogfile.name=%s.log" % daemon,
        "-Dlog4j.configurationFile=" + os.path.join(STORM_DIR, "log4j2", "cluster.xml"),
        real_class(daemon, storm_version()),
    ]
    exec_java(args)


# command -> Apache's class in 1.x (Clojure namespaces compiled to classes), in 2.x
CLIENT_COMMANDS = {
    "kill": ("org.apache.storm.command.kill_topology", "org.apache.storm.command.KillTopology"),
    "list": ("org.apache.storm.command.list", "org.apache.storm.command.ListTopologies"),
}


def exec_client(command, params, conf_file, overrides):
    # type: (str, list[str], str, list[str]) -> None
    """`storm jar JAR CLASS ARGS...` (the topology's main class submits it, with storm.jar
    naming the jar to upload), `storm kill NAME [-w SECS]` and `storm list`."""
    conf = load_config(conf_file, overrides)
    user_dirs = [USER_CONF_DIR, os.path.join(STORM_DIR, "bin")]
    major = apache_major()
    if command == "jar":
        if len(params) < 2:
            die("usage: storm jar JAR CLASS [ARGS...]")
        jar, klass, rest = params[0], params[1], params[2:]
        # 2.x runs a topology's client with lib-worker/; 1.x has lib/ alone.
        client_lib = wildcard("lib-worker" if major >= 2 else "lib")
        classpath = [wildcard(), client_lib, wildcard("extlib"), jar] + user_dirs
        opts = ["-Dstorm.jar=" + jar, "-Dstorm.dependency.jars=", "-Dstorm.dependency.artifacts={}"]
    else:
        klass, rest = CLIENT_COMMANDS[command][1 if major >= 2 else 0], params
        classpath = [wildcard(), wildcard("lib"), wildcard("extlib")] + user_dirs
        opts = []
    args = common_opts("-client", "", conf, conf_file, overrides)
    args += ["-cp", ":".join(classpath + [CLUSTER_CONF_DIR])] + opts + [klass] + rest
    exec_java(args)


def exec_daemon(daemon, conf_file, overrides):
    # type: (str, str, list[str]) -> None
    if daemon in apache_daemons():
        exec_apache_daemon(daemon, conf_file, overrides)
    conf = load_config(conf_file, overrides)
    version = storm_version()
    java = java_command()
    port_key = DAEMONS[daemon][0]
    local_dir = conf_str(conf, "storm.local.dir", "storm-local")
    if not os.path.isabs(local_dir):
        local_dir = os.path.join(STORM_DIR, local_dir)
    log_dir = conf_str(conf, "storm.log.dir", os.path.join(STORM_DIR, "logs"))
    bind = conf_str(conf, "ui.host", "0.0.0.0") if daemon == "ui" else "0.0.0.0"
    extrajars = [CLUSTER_CONF_DIR]
    jars = storm_jars()
    if daemon in ("ui", "logviewer", "drpc"):
        jars = webapp_jars()
    if daemon in ("ui", "logviewer"):
        extrajars = [STORM_DIR, CLUSTER_CONF_DIR]
    classpath = ":".join(jars + extrajars)
    args = [
        java,
        "-server",
        "-Dstorm.options=" + ",".join(quote_plus(opt) for opt in overrides),
        "-Dstorm.home=" + STORM_DIR,
        "-Dstorm.log.dir=" + log_dir,
        "-Dstorm.conf.file=" + conf_file,
        "-Dstorm.local.dir=" + local_dir,
        "-Dstorm.standin.version=" + version,
        "-Dstorm.standin.for=" + real_class(daemon, version),
        "-Dstorm.standin.bind=" + bind,
    ]
    if port_key is not None:
        args.append("-Dstorm.standin.port=" + conf_str(conf, port_key, "0"))
    # Where the daemons register (nimbus, supervisor) and look (ui) in ZooKeeper.
    args += [
        "-Dstorm.standin.zookeeper.servers=" + conf_list(conf, "storm.zookeeper.servers", []),
        "-Dstorm.standin.zookeeper.port=" + conf_str(conf, "storm.zookeeper.port", "2181"),
        "-Dstorm.standin.zookeeper.root=" + conf_str(conf, "storm.zookeeper.root", "/storm"),
        "-Dstorm.standin.zookeeper.session.timeout="
        + conf_str(conf, "storm.zookeeper.session.timeout", "20000"),
        "-Dstorm.standin.slots=" + conf_list(conf, "supervisor.slots.ports", []),
        "-Dstorm.standin.hostname=" + conf_str(conf, "storm.local.hostname", ""),
    ]
    args += shlex.split(conf_str(conf, daemon + ".childopts", ""))
    args += logging_opts(daemon)
    args += ["-cp", classpath, MAIN_CLASS, daemon]
    exec_java(args)


def print_version():
    # type: () -> None
    version = storm_version()
    if os.path.isfile(os.path.join(STORM_DIR, "RELEASE")):
        print(version)
    else:
        print("Storm " + version)
        print("URL (stand-in, not Apache Storm)")


def print_usage():
    # type: () -> None
    print("Commands:\n\t" + "\n\t".join(sorted(list(DAEMONS) + COMMANDS)))
    print("\nThis is a stand-in with Storm's layout and launcher behaviour, not Apache Storm.")
    print('Configs can be overridden using one or more -c flags, e.g. "storm nimbus -c k=v"')


COMMANDS = ["classpath", "help", "localconfvalue", "remoteconfvalue", "version"]
COMMANDS += ["jar"] + sorted(CLIENT_COMMANDS)


def main(argv):
    # type: (list[str]) -> int
    overrides = []  # type: list[str]
    conf_file = os.path.join(CLUSTER_CONF_DIR, "storm.yaml")
    rest = []  # type: list[str]
    args = list(argv)
    while args:
        token = args.pop(0)
        if token == "-c" and args:
            overrides.append(args.pop(0))
        elif token == "--config" and args:
            conf_file = args.pop(0)
            if os.path.isdir(conf_file):
                conf_file = os.path.join(conf_file, "storm.yaml")
        else:
            rest.append(token)
    if not rest:
        print_usage()
        return 1
    command, params = rest[0], rest[1:]
    init_storm_env()
    if command in DAEMONS:
        exec_daemon(command, conf_file, overrides)
    elif (command == "jar" or command in CLIENT_COMMANDS) and apache_major():
        exec_client(command, params, conf_file, overrides)
    elif command == "version":
        print_version()
    elif command == "classpath":
        print(":".join(storm_jars()))
    elif command in ("localconfvalue", "remoteconfvalue") and len(params) == 1:
        conf = load_config(conf_file, overrides)
        print(params[0] + ": " + conf_str(conf, params[0], "null"))
    elif command == "help":
        print_usage()
    else:
        print("Unknown command: [storm %s]" % " ".join(argv))
        print_usage()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
