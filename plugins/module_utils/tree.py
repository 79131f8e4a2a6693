"""One definition of "the code tree" for the controller (lookup) and the host (module).

A tree is described by a manifest: ``{"files": {relpath: sha1}, "dirs": [relpath, ...],
"links": {relpath: target}}``, relative paths with ``/``, sorted. The lookup builds it from
the controller directory without the excluded paths and without following symlinks (a link
is sent as a link, never as what it points to); its digest names a release (app_base), and
the tree_copy action packs the same tree (``pack``).
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import stat
import tarfile
import tempfile

_CHUNK = 64 * 1024


def digest_of(path, algorithm="sha1"):
    """The file's hex digest (sha1 by default)."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def excluded(rel, is_dir, patterns):
    """Whether relative path ``rel`` matches one of the gitignore-like ``patterns``: a
    trailing ``/`` matches directories only; a pattern with another ``/`` (a leading one too)
    matches the path from the top (``/run``, ``docs/build``), one without matches the name at
    any depth (``*.pyc``, ``.git/``)."""
    name = rel.rsplit("/", 1)[-1]
    for pattern in patterns:
        dir_only = pattern.endswith("/")
        body = pattern.rstrip("/")
        anchored = "/" in body
        body = body.lstrip("/")
        if not body or (dir_only and not is_dir):
            continue
        if fnmatch.fnmatchcase(rel if anchored else name, body):
            return True
    return False


def _walk(root, patterns):
    """(rel, full path, lstat) of every entry under root, top-down, sorted, without the
    excluded ones (an excluded directory is not entered) and without following symlinks."""
    for current, subdirs, names in os.walk(root):
        rel_dir = os.path.relpath(current, root)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        entries = []
        for name in sorted(subdirs + names):
            full = os.path.join(current, name)
            info = os.lstat(full)
            if not excluded(rel_dir + name, stat.S_ISDIR(info.st_mode), patterns):
                entries.append((rel_dir + name, full, info))
        subdirs[:] = sorted(rel.rsplit("/", 1)[-1] for rel, _full, info in entries if stat.S_ISDIR(info.st_mode))
        yield from entries


def manifest(root, exclude=()):
    """The manifest of directory ``root`` without the ``exclude`` patterns. Symlinks are
    recorded as links with their target; sockets, fifos and devices are left out."""
    if not os.path.isdir(root):
        raise ValueError(f"{root} is not a directory")
    files, dirs, links = {}, [], {}
    for rel, full, info in _walk(root, exclude):
        if stat.S_ISLNK(info.st_mode):
            links[rel] = os.readlink(full)
        elif stat.S_ISDIR(info.st_mode):
            dirs.append(rel)
        elif stat.S_ISREG(info.st_mode):
            files[rel] = digest_of(full)
    return {"files": dict(sorted(files.items())), "dirs": sorted(dirs), "links": dict(sorted(links.items()))}


def pack(root, group="root", exclude=()):
    """Write root's tree to a new temporary tar.gz; return (its path, member count).
    The ``exclude`` patterns are left out. Symlinks are members as links, never followed. Members are owned by root and
    ``group``, files get mode 0640 and directories 0750 (GNU tar run by root, as
    ansible.builtin.unarchive runs it, restores both); the top directory is not a member.
    """
    handle, archive = tempfile.mkstemp(prefix="djangoops-tree-", suffix=".tar.gz")
    os.close(handle)
    members = 0
    try:
        with tarfile.open(archive, "w:gz") as tar:
            for rel, full, info in _walk(root, exclude):
                if not (
                        stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                    continue
                member = tar.gettarinfo(full, arcname=rel)
                member.uid = member.gid = 0
                member.uname, member.gname = "root", group
                if member.isdir():
                    member.mode = 0o750
                    tar.addfile(member)
                elif member.issym():
                    member.mode = 0o777
                    tar.addfile(member)
                else:
                    member.mode = 0o640
                    with open(full, "rb") as content:
                        tar.addfile(member, content)
                members += 1
    except BaseException:
        os.unlink(archive)
        raise
    return archive, members
