"""The data folder is the user's alone: 0700, and every file in it 0600 (POSIX), fixed again at each start.

It holds e-mails, project ids, the request log (bodies when capture is on), the client API keys in
config.toml and, without a keyring, the account secrets. Windows gives a user's %LOCALAPPDATA% to that user
already, so there is nothing to do there.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
FOLDER_MODE = 0o700
FILE_MODE = 0o600


def make_private(home: Path) -> None:
    """Tighten the folder and the files under it (symlinks are left alone: they may point anywhere)."""
    if os.name != "posix":
        return
    _tighten(home, FOLDER_MODE)
    for folder, folders, files in os.walk(home):
        for name in folders:
            _tighten(Path(folder) / name, FOLDER_MODE)
        for name in files:
            _tighten(Path(folder) / name, FILE_MODE)


def _tighten(path: Path, mode: int) -> None:
    try:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) & ~mode == 0:
            return
        os.chmod(path, stat.S_IMODE(info.st_mode) & mode)
    except OSError as error:  # a file that vanished, or is not ours: say so, never stop the app
        log.warning("Could not make %s private: %s", path, error)
