"""Who a ``relais`` command runs as: the owner of the home, whoever typed it.

The services (broker, relay, console) run as the account that owns the home, and every file
there is private to it (0600/0700). A command run as root that wrote into the home would leave
root-owned files those services cannot read (docs/deploy.md's guide runs admin commands as
root), and one run as a third account could not write at all. So, before anything in the home
is touched (the SQLite file included), ``act_as_owner``:

- as the owner: nothing to do;
- as root, on a home owned by another account: gives back to the owner whatever an earlier
  version left there as root, then drops to the owner for good (groups, gid, uid);
- as anyone else: refuses in one line.

A home that does not exist yet is made by whoever runs ``init`` (create the directory for the
service account first, as the guide does, and root's ``init`` fills it as that account).
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from hr_console.cli.i18n import _


class WrongUser(Exception):
    """This account may not work on the home (the message says who may)."""


def _name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _give_back(home: Path, uid: int, gid: int) -> None:
    """Hand the owner what root left in the home. Root works in a directory the owner
    controls, so every step goes through file descriptors (``os.fwalk``, ``O_NOFOLLOW``) and
    only directories and singly linked regular files are changed: a symlink or hard link
    swapped in by the owner never makes root give away a file outside the home."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC

    def give(name: str, dir_fd: int | None) -> None:
        try:
            fd = os.open(name, flags, dir_fd=dir_fd)
        except OSError:
            return  # a symlink, a socket, gone meanwhile: nothing of ours to give
        try:
            st = os.fstat(fd)
            if st.st_uid != uid and (stat.S_ISDIR(st.st_mode)
                                     or (stat.S_ISREG(st.st_mode) and st.st_nlink == 1)):
                os.fchown(fd, uid, gid)
        finally:
            os.close(fd)

    give(str(home), None)
    for _root, dirs, files, dir_fd in os.fwalk(home, follow_symlinks=False):
        for name in dirs + files:
            give(name, dir_fd)


def _become(uid: int, gid: int) -> None:
    """Drop root for the owner's identity; there is no way back for this process."""
    try:
        entry = pwd.getpwuid(uid)
    except KeyError:
        os.setgroups([])
    else:
        gid = entry.pw_gid
        os.initgroups(entry.pw_name, gid)
        os.environ.update(HOME=entry.pw_dir, USER=entry.pw_name, LOGNAME=entry.pw_name)
    os.setgid(gid)
    os.setuid(uid)


def home_of(home: str | None) -> Path:
    """The home a command works on: the same rule as ``config.load`` (flag, ``RELAIS_HOME``,
    ``./var``), needed before the settings can be read."""
    return Path(home or os.environ.get("RELAIS_HOME") or "var").resolve()


def act_as_owner(home: Path) -> None:
    """Make this process the home's owner, or raise ``WrongUser``. Called before the
    settings are read: they are private to the owner too."""
    try:
        st = home.stat()
    except FileNotFoundError:
        return
    euid = os.geteuid()
    if euid == st.st_uid:
        return
    owner = _name(st.st_uid)
    if euid != 0:
        raise WrongUser(
            _("{home} belongs to {owner}: run relais as {owner} "
              "(sudo -u {owner} relais --home {home} ...) or as root").format(home=home, owner=owner))
    try:
        gid = pwd.getpwuid(st.st_uid).pw_gid
    except KeyError:
        gid = st.st_gid
    _give_back(home, st.st_uid, gid)
    _become(st.st_uid, gid)
