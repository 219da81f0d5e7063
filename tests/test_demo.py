"""`make demo` (scripts/demo.py): a baked site that a visitor can log in to and see
plans priced by the emulator, stopped cleanly by SIGTERM as by Ctrl-C."""

import http.cookiejar
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest

from conftest import REPO_ROOT, project_env

pytestmark = pytest.mark.xdist_group("demo")

CREDENTIALS = re.compile(r"Log in as (\S+) with password (\S+)")
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SUBSCRIPTION_LINK = re.compile(r'href="([^"]*/subscription/)"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port):
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def read_until(process, pattern, timeout):
    """Lines the process prints, until one matches `pattern`; fails on exit or timeout."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            match = pattern.search(line)
            if match:
                return match
        elif process.poll() is not None:
            break
    pytest.fail("demo never printed its credentials:\n" + "".join(lines[-60:]))


def wait_for_port(port, timeout=60):
    deadline = time.monotonic() + timeout
    while not port_open(port):
        assert time.monotonic() < deadline, f"nothing listens on port {port}"
        time.sleep(0.2)


def log_in(base, email, password):
    """Log in through the site's form; return an opener that keeps the session."""
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
    )
    form = opener.open(f"{base}/accounts/login/").read().decode()
    data = urllib.parse.urlencode(
        {
            "csrfmiddlewaretoken": CSRF.search(form).group(1),
            "login": email,
            "password": password,
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=data, headers={"Referer": base + "/"}
    )
    return opener, opener.open(request).read().decode()


def test_make_demo_serves_a_site_whose_demo_user_sees_priced_plans(tmp_path):
    port, emulator_port = free_port(), free_port()
    env = project_env(
        DEMO_DIR=str(tmp_path / "demo"),
        DEMO_PORT=str(port),
        DEMO_EMULATOR_PORT=str(emulator_port),
        PYTHONUNBUFFERED="1",
    )
    demo = subprocess.Popen(
        [sys.executable, "scripts/demo.py"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        email, password = read_until(demo, CREDENTIALS, timeout=600).groups()
        wait_for_port(port)
        base = f"http://127.0.0.1:{port}"

        opener, dashboard = log_in(base, email, password)
        subscription = opener.open(
            base + SUBSCRIPTION_LINK.search(dashboard).group(1)
        ).read()
        page = subscription.decode()

        # The demo catalogue's Starter plan starts with a free trial.
        assert "Start free trial" in page
        for plan in ("Pro", "Business"):
            assert f"Subscribe to {plan}" in page
        assert "$15.00" in page  # the Pro price, read from the emulator's catalogue
    finally:
        os.kill(demo.pid, signal.SIGTERM)
        demo.wait(timeout=60)

    # Stopping the demo stops the site and the emulator with it.
    deadline = time.monotonic() + 20
    while (port_open(port) or port_open(emulator_port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not port_open(port) and not port_open(emulator_port)


def test_make_demo_refuses_a_port_in_use_in_one_line(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "scripts/demo.py"],
            cwd=REPO_ROOT,
            env=project_env(DEMO_DIR=str(tmp_path / "demo"), DEMO_PORT=str(port)),
            capture_output=True,
            text=True,
            check=False,
        )

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        f"Port {port} on 127.0.0.1 is already in use (another demo or make dev?);"
        " stop that process or set DEMO_PORT to a free port"
    ]
    assert not (tmp_path / "demo").exists()
