"""One definition of "the code tree" for the controller (lookup) and the host (module).

A tree is described by a manifest: ``{"files": {relpath: sha1}, "dirs": [relpath, ...],
"links": {relpath: target}}``, relative paths with ``/``, sorted. The lookup builds it from
the controller directory without the excluded paths and without following symlinks (a link
is sent as a link, never as what it points to); the module compares a host directory with
it, so a rerun can skip a copy that would change nothing, and names what the host has
beyond it (files deleted from the project); the tree_copy action packs it (``pack``).
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
    """The file's hex digest: sha1 by default, the checksum ansible.builtin.copy compares with
    (tree_copy asks for sha256, the one the checksums module reports)."""
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
        subdirs[:] = sorted(rel.rsplit("/", 1)[-1] for rel, _, info in entries if stat.S_ISDIR(info.st_mode))
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


def unsafe_paths(tree):
    """Relative paths that would leave the destination: absolute, or with '..' parts."""
    paths = list(tree.get("files", {})) + list(tree.get("dirs", [])) + list(tree.get("links", {}))
    return [p for p in paths if p.startswith("/") or ".." in p.split("/") or p in ("", ".")]


def _under(rel, tops):
    return any(rel == top or rel.startswith(top + "/") for top in tops)


def _kind(mode):
    return "link" if stat.S_ISLNK(mode) else "dir" if stat.S_ISDIR(mode) else "file" if stat.S_ISREG(mode) else "other"


def host_state(dest, tree, uid, protected):
    """What ``dest`` has beyond ``tree``: (extra, kept). ``kept`` are the directories under
    ``dest`` owned by someone other than ``uid`` (the app's own data: static files, uploads),
    never entered, changed or removed; ``extra`` are the other entries the tree does not
    have (files deleted from the project) or has as another kind (a directory that became a
    symlink: it must go before the tree is unpacked), topmost only. ``protected`` relative
    paths (what the roles write beside the code, the directories handed to the app) and what
    is under them are neither."""
    kinds = {rel: "file" for rel in tree.get("files", {})}
    kinds.update({rel: "dir" for rel in tree.get("dirs", [])})
    kinds.update({rel: "link" for rel in tree.get("links", {})})
    extra, kept = [], []
    for current, subdirs, names in os.walk(dest):
        rel_dir = os.path.relpath(current, dest)
        rel_dir = "" if rel_dir == "." else rel_dir.replace(os.sep, "/") + "/"
        enter = []
        for name in sorted(subdirs + names):
            rel = rel_dir + name
            if _under(rel, protected):
                continue
            info = os.lstat(os.path.join(current, name))
            kind = _kind(info.st_mode)
            if kind == "dir" and uid is not None and info.st_uid != uid:
                kept.append(rel)
            elif kinds.get(rel) != kind:
                extra.append(rel)
            elif kind == "dir":
                enter.append(name)
        subdirs[:] = sorted(enter)
    return extra, kept


def differences(dest, tree, uid, gid, file_mode, dir_mode, limit=20, kept=()):
    """Why ``dest`` does not hold ``tree`` with these owners and modes; empty when it does.
    ``uid``/``gid`` of None are not checked. Entries under a ``kept`` directory are the
    app's, not the tree's: not compared. What ``dest`` has beyond the tree is host_state's.
    """
    entries = [(rel, "directory", stat.S_ISDIR, "not a directory", dir_mode, None) for rel in tree.get("dirs", [])]
    entries += [(rel, "file", stat.S_ISREG, "not a regular file", file_mode, checksum)
                for rel, checksum in tree.get("files", {}).items()]
    found = []
    for rel, target in tree.get("links", {}).items():
        if _under(rel, kept):
            continue
        path = os.path.join(dest, rel)
        why = ("symlink missing" if not os.path.lexists(path)
               else "not a symlink" if not os.path.islink(path)
               else f"symlink to {os.readlink(path)}, wanted {target}" if os.readlink(path) != target
               else None)
        if why:
            found.append(f"{rel}: {why}")
    for rel, kind, is_kind, not_kind, mode, checksum in entries:
        if len(found) >= limit:
            break
        if _under(rel, kept):
            continue
        try:
            info = os.lstat(os.path.join(dest, rel))
        except FileNotFoundError:
            why = f"{kind} missing"
        else:
            why = (
                not_kind if not is_kind(info.st_mode)
                else f"{kind} owner uid {info.st_uid}, wanted {uid}" if uid is not None and info.st_uid != uid
                else f"{kind} group gid {info.st_gid}, wanted {gid}" if gid is not None and info.st_gid != gid
                else f"{kind} mode {stat.S_IMODE(info.st_mode):04o}, wanted {mode:04o}" if stat.S_IMODE(info.st_mode) != mode
                else "content differs" if checksum is not None and digest_of(os.path.join(dest, rel)) != checksum
                else None
            )
        if why:
            found.append(f"{rel}: {why}")
    return found[:limit]


def pack(root, file_mode, dir_mode, group="root", exclude=(), skip=()):
    """Write root's tree to a new temporary tar.gz; return (its path, member count).
    The ``exclude`` patterns and the ``skip`` relative paths (and what is under them) are left
    out. Symlinks are members as links, never followed. Members are owned by root and
    ``group``, files get ``file_mode`` and directories ``dir_mode`` (GNU tar run by root, as
    ansible.builtin.unarchive runs it, restores both); the top directory is not a member.
    """
    handle, archive = tempfile.mkstemp(prefix="djangoops-tree-", suffix=".tar.gz")
    os.close(handle)
    members = 0
    try:
        with tarfile.open(archive, "w:gz") as tar:
            for rel, full, info in _walk(root, exclude):
                if _under(rel, skip) or not (
                        stat.S_ISDIR(info.st_mode) or stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode)):
                    continue
                member = tar.gettarinfo(full, arcname=rel)
                member.uid = member.gid = 0
                member.uname, member.gname = "root", group
                if member.isdir():
                    member.mode = dir_mode
                    tar.addfile(member)
                elif member.issym():
                    member.mode = 0o777
                    tar.addfile(member)
                else:
                    member.mode = file_mode
                    with open(full, "rb") as content:
                        tar.addfile(member, content)
                members += 1
    except BaseException:
        os.unlink(archive)
        raise
    return archive, members
