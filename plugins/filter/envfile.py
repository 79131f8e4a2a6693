"""Render and validate the app's env file so that bash and systemd read it the same.

bash's ``. FILE`` and systemd's ``EnvironmentFile=`` disagree on unquoted spaces,
``$VAR``, ``export``, ``;`` comments, inline ``#`` and the ``'\\''`` escape. They agree on
one form: ``KEY="VALUE"`` where, inside the double quotes, exactly the four characters
``\\ " $ ` `` are escaped with a backslash. bash removes a backslash before those four and
keeps every other character; systemd's double-quote state does the same (a backslash
before any other character is kept by both, and we never write one). Newlines are the one
thing the two would still treat differently across lines, so values with CR, LF or NUL are
refused, as are keys that bash itself assigns or will not let a script set.
"""

from __future__ import annotations

import re

# \Z, not $: $ also matches before a trailing newline ("A\n" would pass).
KEY_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
_ESCAPED = re.compile(r'([\\"$`])')
_UNESCAPED = re.compile(r'\\([\\"$`])')
_LINE = re.compile(r'^([A-Za-z_][A-Za-z0-9_]*)="(.*)"\Z', re.DOTALL)

# Keys whose value would not reach the process as written: bash makes them read-only,
# recomputes them on every use, or the run script owns them.
RESERVED_KEYS = frozenset(
    {
        "_", "BASHOPTS", "BASHPID", "BASH_ARGC", "BASH_ARGV", "BASH_ARGV0", "BASH_COMMAND",
        "BASH_LINENO", "BASH_SOURCE", "BASH_SUBSHELL", "BASH_VERSINFO", "BASH_VERSION",
        "DIRSTACK", "EPOCHREALTIME", "EPOCHSECONDS", "EUID", "FUNCNAME", "GROUPS", "HISTCMD",
        "LINENO", "OLDPWD", "PPID", "PWD", "RANDOM", "SECONDS", "SHELLOPTS", "SRANDOM", "UID",
        "VIRTUAL_ENV",
    }
)
# Keys that change how the process starts or is managed (gunicorn's own arguments, systemd's
# notify and socket-activation protocol, the interpreter, the dynamic loader): set by the
# roles or by nobody. PATH and PYTHONPATH stay allowed (README: what they change).
PROCESS_KEYS = frozenset({"GUNICORN_CMD_ARGS", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                          "PYTHONHOME", "PYTHONSTARTUP", "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"})
FORBIDDEN_CHARS = {"\n": "a newline (LF)", "\r": "a carriage return (CR)", "\x00": "a NUL byte"}


def env_errors(env, variable="app_base_env"):
    """Return a list of messages, one per problem; empty when ``env`` can be written.

    Messages name the variable and the key, never the value: values may be secrets.
    """
    if env is None:
        return []
    if not isinstance(env, dict):
        return [f"{variable} must be a dict of NAME: value, got {type(env).__name__}"]
    errors = []
    for key, value in env.items():
        if not isinstance(key, str) or not KEY_RE.match(key):
            errors.append(
                f"{variable}: key {key!r} is not a valid variable name; allowed: "
                "a letter or _ followed by letters, digits or _ (^[A-Za-z_][A-Za-z0-9_]*\\Z)"
            )
            continue
        if key in RESERVED_KEYS or key.startswith("BASH_"):
            errors.append(f"{variable}: key {key!r} is reserved (bash or the run script sets it); choose another name")
            continue
        if key in PROCESS_KEYS:
            errors.append(f"{variable}: key {key!r} would change how the service's process starts or is managed; "
                          f"not allowed (reserved: {', '.join(sorted(PROCESS_KEYS))})")
            continue
        if value is None or isinstance(value, (dict, list)):
            errors.append(f"{variable}: the value of {key!r} must be a string, number or boolean")
            continue
        text = _as_text(value)
        for char, what in FORBIDDEN_CHARS.items():
            if char in text:
                errors.append(f"{variable}: the value of {key!r} contains {what}; values must be one line without NUL")
    return errors


def _as_text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def env_quote(value):
    """Quote one value as both bash and systemd read it back byte for byte."""
    return '"' + _ESCAPED.sub(r"\\\1", _as_text(value)) + '"'


def to_env_file(env, variable="app_base_env"):
    """Render ``env`` (a dict) as env-file lines; raise on anything ``env_errors`` reports."""
    errors = env_errors(env, variable)
    if errors:
        # Imported here so that the pure functions stay testable without Ansible.
        from ansible.errors import AnsibleFilterError

        raise AnsibleFilterError("; ".join(errors))
    # Sorted: the same env is the same file whatever order the dict was built in (inventory
    # files, combine), so a reordering is no change and no reload.
    return "".join(f"{key}={env_quote(value)}\n" for key, value in sorted((env or {}).items()))


def from_env_file(text):
    """Parse what ``to_env_file`` writes (comments and blank lines skipped) into a dict."""
    result = {}
    for line in text.split("\n"):
        match = _LINE.match(line)
        if match:
            result[match.group(1)] = _UNESCAPED.sub(r"\1", match.group(2))
    return result


def bind_errors(bind, variable="app_base_gunicorn_bind"):
    """Validate a gunicorn bind address: ``HOST:PORT``, ``[IPv6]:PORT`` or ``unix:/PATH``."""
    if not isinstance(bind, str) or not bind:
        return [f"{variable} must be a non-empty string: HOST:PORT or unix:/absolute/path"]
    if bind.startswith("unix:"):
        path = bind[len("unix:"):]
        if not path.startswith("/") or any(c.isspace() for c in path):
            return [f"{variable}: {bind!r} must be unix:/absolute/path without spaces"]
        return []
    match = re.match(r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]+)\Z", bind)
    if not match:
        return [f"{variable}: {bind!r} is not HOST:PORT, [IPv6]:PORT or unix:/absolute/path"]
    port = int(match.group(2))
    if not 1 <= port <= 65535:
        return [f"{variable}: port {port} in {bind!r} is outside 1-65535"]
    return []


def bind_port(bind):
    """The TCP port of a bind address, or 0 for a unix socket."""
    if bind.startswith("unix:"):
        return 0
    return int(bind.rsplit(":", 1)[1])


def bind_host(bind):
    """The host part of a TCP bind address, without IPv6 brackets."""
    return bind.rsplit(":", 1)[0].strip("[]")


def supervisor_environment(env, variable="django_supervisor_environment"):
    """Render a dict as Supervisor's ``environment=`` value: ``KEY="value",KEY2="value2"``.

    Supervisor %-expands its config first, so ``%`` is doubled; commas, ``#`` and
    backslashes are safe inside the double quotes. What its parsers cannot carry (a double
    quote, ``%(here)s``, ``;`` or ``#`` after a space) django_supervisor's validate.yml refuses.
    """
    errors = env_errors(env, variable)
    if errors:
        from ansible.errors import AnsibleFilterError

        raise AnsibleFilterError("; ".join(errors))
    return ",".join(f'{key}="{_as_text(value).replace("%", "%%")}"' for key, value in (env or {}).items())


class FilterModule:
    """Env-file and bind-address filters of djangoops.services."""

    def filters(self):
        return {
            "env_errors": env_errors,
            "env_quote": env_quote,
            "to_env_file": to_env_file,
            "from_env_file": from_env_file,
            "bind_errors": bind_errors,
            "bind_port": bind_port,
            "bind_host": bind_host,
            "supervisor_environment": supervisor_environment,
        }
