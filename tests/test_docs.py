"""The kit's documentation builds with no warning and renders offline."""

import re
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
    # Every script, style sheet and font comes with the site: nothing from a CDN.
    remote = {
        f"{page.relative_to(tmp_path)}: {match}"
        for page in (tmp_path / "site").rglob("*.html")
        for match in re.findall(
            r"<(?:script|link|img)\b[^>]*\b(?:src|href)=[\"'](?:https?:)?//[^\"']+",
            page.read_text(encoding="utf-8"),
        )
    }
    remote |= {
        f"{sheet.relative_to(tmp_path)}: {match}"
        for sheet in (tmp_path / "site").rglob("*.css")
        for match in re.findall(
            r"url\([\"']?(?:https?:)?//[^)]+", sheet.read_text(encoding="utf-8")
        )
    }
    assert not remote, "\n".join(sorted(remote))
