"""The env file: one text that bash's `.` and systemd's EnvironmentFile= read the same."""
import os
import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.djangoops.services.plugins.filter import envfile

TRICKY = {
    "SAMPLE_SPACES": "two words  and more",
    "SAMPLE_EDGE_SPACES": "  padded  ",
    "SAMPLE_DOLLAR": "$HOME",
    "SAMPLE_BRACES": "${HOME}x",
    "SAMPLE_SUBST": "$(touch /tmp/djangoops-pwned)",
    "SAMPLE_BACKTICK": "`touch /tmp/djangoops-pwned`",
    "SAMPLE_SINGLE": "it's 'quoted'",
    "SAMPLE_DOUBLE": 'say "hi"',
    "SAMPLE_ESCAPE": "a'\\''b",
    "SAMPLE_HASH": "value # not a comment",
    "SAMPLE_SEMI": "a;b ; c",
    "SAMPLE_BACKSLASH": "C:\\path\\n\\\\",
    "SAMPLE_TRAILING_BACKSLASH": "ends with \\",
    "SAMPLE_PERCENT": "100% %s %%",
    "SAMPLE_EMPTY": "",
    "SAMPLE_UNICODE": "héllo wörld ✓ 日本",
    "SAMPLE_EXPORT": "export X=1",
    "SAMPLE_EQUALS": "a=b=c",
    "SAMPLE_TAB": "a\tb",
    "SAMPLE_BANG": "wow!! !$ !!",
    "SAMPLE_GLOB": "* ? [a]",
    "SAMPLE_TILDE": "~root",
}


def bash_view(path, keys):
    """What a bash run script sees after `set -a; . FILE; set +a`."""
    script = f'set -a; . "{path}"; set +a; exec env -0'
    out = subprocess.run(["bash", "-c", script], env={"PATH": os.environ["PATH"]}, capture_output=True, check=True).stdout
    pairs = dict(item.split(b"=", 1) for item in out.split(b"\0") if item)
    return {k: pairs[k.encode()].decode("utf-8") for k in keys if k.encode() in pairs}


def test_bash_reads_every_tricky_value_byte_for_byte(tmp_path):
    path = tmp_path / ".env"
    path.write_text(envfile.to_env_file(TRICKY), encoding="utf-8")
    assert bash_view(path, TRICKY) == TRICKY
    assert not os.path.exists("/tmp/djangoops-pwned")


@pytest.mark.skipif(
    not (shutil.which("systemd-run") and os.path.exists("/run/systemd/system")),
    reason="systemd is not PID 1 here; the Molecule app_base scenario checks systemd's view",
)
def test_systemd_reads_every_tricky_value_byte_for_byte(tmp_path):
    path = tmp_path / ".env"
    path.write_text(envfile.to_env_file(TRICKY), encoding="utf-8")
    out = subprocess.run(
        ["systemd-run", "--quiet", "--pipe", "--wait", "-p", f"EnvironmentFile={path}", "/usr/bin/env", "-0"],
        capture_output=True, check=True,
    ).stdout
    pairs = dict(item.split(b"=", 1) for item in out.split(b"\0") if item)
    assert {k: pairs[k.encode()].decode() for k in TRICKY} == TRICKY


def test_parser_reads_back_what_the_renderer_wrote():
    text = "# managed by Ansible\n\n" + envfile.to_env_file(TRICKY)
    assert envfile.from_env_file(text) == TRICKY


def test_values_are_double_quoted_with_four_escapes():
    assert envfile.env_quote('a\\b"c$d`e\'f') == '"a\\\\b\\"c\\$d\\`e\'f"'
    assert envfile.to_env_file({"A": 1, "B": True}) == 'A="1"\nB="true"\n'


def test_the_same_env_in_any_order_writes_the_same_bytes():
    """An inventory file (Molecule's sorts its keys) and a dict built in another order give
    one file: no change, no reload."""
    assert envfile.to_env_file({"Z": "1", "A": "2"}) == envfile.to_env_file({"A": "2", "Z": "1"}) == 'A="2"\nZ="1"\n'


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"1BAD": "x"}, "'1BAD' is not a valid variable name"),
        ({"BAD-KEY": "x"}, "'BAD-KEY' is not a valid variable name"),
        ({"BAD KEY": "x"}, "is not a valid variable name"),
        ({"": "x"}, "is not a valid variable name"),
        ({"UID": "x"}, "'UID' is reserved"),
        ({"VIRTUAL_ENV": "x"}, "'VIRTUAL_ENV' is reserved"),
        ({"BASH_ENV": "x"}, "'BASH_ENV' is reserved"),
        # $ would accept a trailing newline: the key must end where the name ends.
        ({"A\n": "x"}, "is not a valid variable name"),
        ({"GOOD_KEY\n": "x"}, "is not a valid variable name"),
        ({"A": "line1\nline2"}, "contains a newline (LF)"),
        ({"A": "cr\rhere"}, "contains a carriage return (CR)"),
        ({"A": "nul\0here"}, "contains a NUL byte"),
        ({"A": ["list"]}, "must be a string, number or boolean"),
        ({"A": None}, "must be a string, number or boolean"),
    ],
)
def test_bad_input_is_refused_with_the_variable_and_key_named(env, fragment):
    errors = envfile.env_errors(env)
    assert len(errors) == 1
    assert errors[0].startswith("app_base_env")
    assert fragment in errors[0]
    with pytest.raises(AnsibleFilterError, match="app_base_env"):
        envfile.to_env_file(env)


@pytest.mark.parametrize("key", sorted(envfile.PROCESS_KEYS))
def test_keys_that_change_how_the_process_starts_are_refused_by_name(key):
    (message,) = envfile.env_errors({key: "x"})
    assert message.startswith(f"app_base_env: key {key!r} would change how the service's process starts")
    for name in ("GUNICORN_CMD_ARGS", "NOTIFY_SOCKET", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES",
                 "PYTHONHOME", "PYTHONSTARTUP", "LD_PRELOAD", "LD_LIBRARY_PATH"):
        assert name in envfile.PROCESS_KEYS


def test_path_and_pythonpath_stay_allowed():
    assert envfile.env_errors({"PATH": "/usr/local/bin:/usr/bin:/bin", "PYTHONPATH": "/srv/lib"}) == []


def test_errors_never_show_the_value():
    secret = "s3cr3t-value\nsecond line"
    (message,) = envfile.env_errors({"DJANGO_SECRET_KEY": secret})
    assert "s3cr3t" not in message


def test_env_must_be_a_dict():
    assert envfile.env_errors(["A=1"]) == ["app_base_env must be a dict of NAME: value, got list"]
    assert envfile.env_errors(None) == []
    assert envfile.env_errors({}) == []


@pytest.mark.parametrize("bind", ["127.0.0.1:8000", "0.0.0.0:80", "localhost:1", "[::1]:65535", "unix:/run/app/gunicorn.sock"])
def test_good_bind_addresses(bind):
    assert envfile.bind_errors(bind) == []


@pytest.mark.parametrize(
    ("bind", "fragment"),
    [
        ("127.0.0.1:0", "outside 1-65535"),
        ("127.0.0.1:65536", "outside 1-65535"),
        ("127.0.0.1", "is not HOST:PORT"),
        ("127.0.0.1:http", "is not HOST:PORT"),
        ("127.0.0.1:8000\n", "is not HOST:PORT"),
        ("unix:relative.sock", "unix:/absolute/path"),
        ("", "non-empty string"),
    ],
)
def test_bad_bind_addresses(bind, fragment):
    (message,) = envfile.bind_errors(bind)
    assert message.startswith("app_base_gunicorn_bind")
    assert fragment in message


def test_bind_port_and_host():
    assert envfile.bind_port("0.0.0.0:80") == 80
    assert envfile.bind_port("[::1]:8000") == 8000
    assert envfile.bind_port("unix:/run/x.sock") == 0
    assert envfile.bind_host("[::1]:8000") == "::1"
    assert envfile.bind_host("127.0.0.1:8000") == "127.0.0.1"


def supervisor_reads(rendered):
    """Supervisor's own reading of an environment= line in a program file: its config parser
    (inline comments), %-expansion, then its pair parser."""
    from supervisor.options import ServerOptions, UnhosedConfigParser

    parser = UnhosedConfigParser()
    parser.expansions = {"here": "/etc/supervisor/conf.d"}
    parser.read_string(f"[program:x]\ncommand=/bin/true\nenvironment={rendered}\n")
    parser.expand_here("/etc/supervisor/conf.d")
    return ServerOptions().processes_from_section(parser, "program:x", "x")[0].environment


def test_supervisor_reads_the_environment_line_as_written():
    env = {"HOME": "/srv/app", "LANG": "C.UTF-8", "PCT": "100% %(there)s %%", "Q": "say 'hi', ok#1;2", "B": "a\\b", "E": ""}
    assert supervisor_reads(envfile.supervisor_environment(env)) == env


def test_supervisor_environment_refuses_bad_keys_naming_the_variable():
    with pytest.raises(AnsibleFilterError, match="django_supervisor_environment: key 'BAD-KEY'"):
        envfile.supervisor_environment({"BAD-KEY": "x"})
