"""One definition of "the code tree" for the controller (lookup) and the host (module).

A tree is described by a manifest: ``{"files": {relpath: sha1}, "dirs": [relpath, ...]}``,
relative paths with ``/``, sorted. The lookup builds it from the controller directory the way
``ansible.builtin.copy`` reads it (symlinks followed); the module compares a host directory
against it, so a rerun can skip a copy that would change nothing; the tree_copy action packs
it (``pack``) when it does differ.
"""

from __future__ import annotations

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


def manifest(root):
    """The manifest of directory ``root`` (followed symlinks, like copy's local_follow)."""
    if not os.path.isdir(root):
        raise ValueError(f"{root} is not a directory")
    files, dirs = {}, []
    for current, subdirs, names in os.walk(root, followlinks=True):
        subdirs.sort()
        rel_dir = os.path.relpath(current, root)
        if rel_dir != ".":
            dirs.append(rel_dir.replace(os.sep, "/"))
        for name in sorted(names):
            full = os.path.join(current, name)
            if not os.path.isfile(full):
                continue  # broken symlinks, sockets, fifos: copy skips or fails on them too
            rel = os.path.relpath(full, root).replace(os.sep, "/")
            files[rel] = digest_of(full)
    return {"files": dict(sorted(files.items())), "dirs": sorted(dirs)}


def unsafe_paths(tree):
    """Relative paths that would leave the destination: absolute, or with '..' parts."""
    paths = list(tree.get("files", {})) + list(tree.get("dirs", []))
    return [p for p in paths if p.startswith("/") or ".." in p.split("/") or p in ("", ".")]


def differences(dest, tree, uid, gid, file_mode, dir_mode, limit=20):
    """Why ``dest`` does not hold ``tree`` with these owners and modes; empty when it does.

    ``uid``/``gid`` of None are not checked. Files and directories that ``dest`` has beyond
    the tree are not differences (copy leaves them too).
    """
    entries = [(rel, "directory", stat.S_ISDIR, "not a directory", dir_mode, None) for rel in tree.get("dirs", [])]
    entries += [(rel, "file", stat.S_ISREG, "not a regular file", file_mode, checksum)
                for rel, checksum in tree.get("files", {}).items()]
    found = []
    for rel, kind, is_kind, not_kind, mode, checksum in entries:
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
            if len(found) >= limit:
                break
    return found


def pack(root, file_mode, dir_mode):
    """Write root's tree to a new temporary tar.gz; return (its path, member count).

    Symlinks are followed, as the manifest reads them. Members are owned by root, files get
    ``file_mode`` and directories ``dir_mode``; the top directory itself is not a member.
    """
    handle, archive = tempfile.mkstemp(prefix="djangoops-tree-", suffix=".tar.gz")
    os.close(handle)
    members = 0
    try:
        with tarfile.open(archive, "w:gz", dereference=True) as tar:
            for current, subdirs, names in os.walk(root, followlinks=True):
                subdirs.sort()
                for name in sorted(subdirs) + sorted(names):
                    full = os.path.join(current, name)
                    if not (os.path.isdir(full) or os.path.isfile(full)):
                        continue
                    info = tar.gettarinfo(full, arcname=os.path.relpath(full, root))
                    info.uid = info.gid = 0
                    info.uname = info.gname = "root"
                    info.mode = dir_mode if info.isdir() else file_mode
                    if info.isdir():
                        tar.addfile(info)
                    else:
                        with open(full, "rb") as content:
                            tar.addfile(info, content)
                    members += 1
    except BaseException:
        os.unlink(archive)
        raise
    return archive, members
