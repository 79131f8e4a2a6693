"""Turn a copy of this Django project into a developer's messy working copy.

Usage: make_working_copy.py DEST OUTSIDE_DIR

Copies the project next to this script (minus this script and any
__pycache__) into DEST, wiping DEST first, then adds what a real working copy
carries around and a deploy tool must never ship or use:

  .git/                     a git repository whose origin URL embeds a token
  .env                      a dotenv file with a secret and a marker variable
  .venv/                    a local virtualenv (bin/python, pyvenv.cfg)
  mysite/__pycache__/       a stray bytecode file
  node_modules/, .pytest_cache/
  media/dev-upload.txt      a local upload
  staticfiles/dev-collected.css  a local collectstatic leftover
  gunicorn.conf.py, run     files the deploy tool must override with its own
  outside_link              a symlink to OUTSIDE_DIR (absolute path), where
                            OUTSIDE_DIR/outside-secret.txt is created

Prints a JSON summary. Standard library only; uses git when it is installed
and otherwise writes .git/config by hand.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

SOURCE = Path(__file__).resolve().parent
SELF_NAME = Path(__file__).name

REMOTE_URL = "https://deploy:ghp_SECRETTOKEN123@git.example.invalid/acme/site.git"

# Relative path -> (content, mode). Written after the project is copied.
CLUTTER = {
    ".env": (
        "# local development settings - never deploy this file\n"
        "DJANGO_SECRET_KEY=dotenv-file-secret-must-not-reach-host\n"
        "DOTENV_LEAK=leaked-from-project-dotenv\n",
        0o600,
    ),
    ".env.production": (
        "DJANGO_SECRET_KEY=dotenv-production-secret-must-not-reach-host\n",
        0o600,
    ),
    ".venv/bin/python": (
        "#!/bin/sh\n"
        "echo 'the project .venv must not be used on the host' >&2\n"
        "exit 1\n",
        0o755,
    ),
    ".venv/pyvenv.cfg": (
        "home = /usr/local/bin\n"
        "include-system-site-packages = false\n"
        "version = 3.11.9\n"
        "executable = /usr/local/bin/python3.11\n"
        "command = /usr/local/bin/python3.11 -m venv /home/dev/site/.venv\n",
        0o644,
    ),
    "mysite/__pycache__/junk.cpython-311.pyc": (
        b"\xa7\r\r\n\x00\x00\x00\x00stale bytecode from a developer machine\n",
        0o644,
    ),
    "node_modules/leftpad/index.js": (
        "module.exports = (s, n, c = ' ') => String(s).padStart(n, c);\n",
        0o644,
    ),
    ".pytest_cache/README.md": (
        "# pytest cache directory #\n\n"
        "This directory contains data from the pytest's cache plugin,\n"
        "which provides the `--lf` and `--ff` options, as well as the `cache` fixture.\n\n"
        "**Do not** commit this to version control.\n",
        0o644,
    ),
    "media/dev-upload.txt": (
        "a developer's local upload - must not reach the host\n",
        0o644,
    ),
    "staticfiles/dev-collected.css": (
        "/* leftover of a local collectstatic - must not reach the host */\n"
        "body { background: hotpink; }\n",
        0o644,
    ),
    "gunicorn.conf.py": (
        'raise SystemExit("project gunicorn.conf.py must not be used")\n',
        0o644,
    ),
    "run": (
        "#!/bin/sh\necho project run script must not be used; exit 1\n",
        0o755,
    ),
}

OUTSIDE_SECRET_NAME = "outside-secret.txt"
OUTSIDE_SECRET = "outside-directory-secret\n"


def fail(message):
    print(f"make_working_copy.py: {message}", file=sys.stderr)
    sys.exit(2)


def is_within(path, parent):
    try:
        path.relative_to(parent)
    except ValueError:
        return False
    return True


def wipe(dest):
    if dest.is_symlink() or dest.is_file():
        dest.unlink()
    elif dest.exists():
        shutil.rmtree(dest)


def copy_project(dest):
    def ignore(directory, names):
        skipped = {n for n in names if n == "__pycache__"}
        if Path(directory).resolve() == SOURCE and SELF_NAME in names:
            skipped.add(SELF_NAME)
        return skipped

    shutil.copytree(SOURCE, dest, symlinks=True, ignore=ignore)


def write_clutter(dest):
    created = []
    for rel, (content, mode) in CLUTTER.items():
        path = dest / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
        path.chmod(mode)
        created.append(rel)
    return created


def make_outside(dest, outside):
    outside.mkdir(parents=True, exist_ok=True)
    (outside / OUTSIDE_SECRET_NAME).write_text(OUTSIDE_SECRET)
    link = dest / "outside_link"
    os.symlink(str(outside), link)
    return "outside_link"


def git(dest, *args):
    env = dict(os.environ)
    env.update(
        GIT_AUTHOR_NAME="Dev Eloper",
        GIT_AUTHOR_EMAIL="dev@example.invalid",
        GIT_COMMITTER_NAME="Dev Eloper",
        GIT_COMMITTER_EMAIL="dev@example.invalid",
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
    )
    return subprocess.run(
        ["git", "-c", "core.hooksPath=/dev/null", "-c", "commit.gpgsign=false", *args],
        cwd=dest,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def make_git_repo(dest):
    """Create .git with the token-bearing origin. Returns a summary dict."""
    if shutil.which("git"):
        git(dest, "init", "-q")
        git(dest, "symbolic-ref", "HEAD", "refs/heads/main")
        git(dest, "add", "-A")
        git(dest, "commit", "-q", "-m", "Initial commit")
        git(dest, "remote", "add", "origin", REMOTE_URL)
        tracked = git(dest, "ls-files").splitlines()
        commit = git(dest, "rev-parse", "HEAD").strip()
        return {"kind": "git", "commit": commit, "tracked_files": tracked}

    gitdir = dest / ".git"
    for sub in ("objects/info", "objects/pack", "refs/heads", "refs/tags", "info"):
        (gitdir / sub).mkdir(parents=True, exist_ok=True)
    (gitdir / "HEAD").write_text("ref: refs/heads/main\n")
    (gitdir / "description").write_text("Unnamed repository.\n")
    (gitdir / "config").write_text(
        "[core]\n"
        "\trepositoryformatversion = 0\n"
        "\tfilemode = true\n"
        "\tbare = false\n"
        "\tlogallrefupdates = true\n"
        '[remote "origin"]\n'
        f"\turl = {REMOTE_URL}\n"
        "\tfetch = +refs/heads/*:refs/remotes/origin/*\n"
    )
    return {"kind": "handwritten", "commit": None, "tracked_files": []}


def list_files(dest):
    """Every file and symlink under dest except .git/, without following links."""
    found = []
    for root, dirs, files in os.walk(dest):
        rel_root = Path(root).relative_to(dest)
        if rel_root == Path("."):
            dirs[:] = [d for d in dirs if d != ".git"]
        for name in files + [d for d in dirs if (Path(root) / d).is_symlink()]:
            found.append(str(rel_root / name))
    return sorted(found)


def main(argv):
    if len(argv) != 3:
        fail("usage: make_working_copy.py DEST OUTSIDE_DIR")
    dest = Path(os.path.abspath(argv[1]))
    outside = Path(os.path.abspath(argv[2]))

    if dest == Path(dest.anchor) or is_within(SOURCE, dest) or is_within(dest, SOURCE):
        fail(f"refusing DEST {dest}: it overlaps the project source {SOURCE}")
    if is_within(outside, dest) or is_within(dest, outside):
        fail("DEST and OUTSIDE_DIR must not contain one another")

    wipe(dest)
    copy_project(dest)
    created = write_clutter(dest)
    created.append(make_outside(dest, outside))
    # Commit after the clutter exists, like a real checkout: the project's
    # .gitignore keeps .env, .venv/ and friends untracked, while the
    # top-level gunicorn.conf.py and run are committed.
    repo = make_git_repo(dest)
    created.append(".git/")

    summary = {
        "dest": str(dest),
        "source": str(SOURCE),
        "outside_dir": str(outside),
        "outside_secret": str(outside / OUTSIDE_SECRET_NAME),
        "git": {
            "kind": repo["kind"],
            "commit": repo["commit"],
            "remote_origin": REMOTE_URL,
            "tracked_files": repo["tracked_files"],
        },
        "clutter": sorted(created),
        "files": list_files(dest),
    }
    json.dump(summary, sys.stdout, indent=2)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv)
