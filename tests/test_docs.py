"""The kit's documentation builds with no warning."""

import subprocess
import sys

from conftest import REPO_ROOT


def test_mkdocs_builds_strictly(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mkdocs",
            "build",
            "--strict",
            "--site-dir",
            str(tmp_path / "site"),
        ],
        check=False,
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "options" / "index.html").is_file()
