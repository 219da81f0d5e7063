"""The HTTP door under attack and abuse: other origins and hosts, malformed requests,
broken connections and bursts of them."""

import json
import selectors
import socket
import time

import pytest

from stripe_emulator.server import EmulatorServer

from .conftest import http, wait_for

EVIL = "http://evil.example"


def api(server, method, path, body=None, headers=None):
    status, _, text = http(method, server.url + path, body, headers=headers)
    return status, json.loads(text)


def assert_refused(status, body, code):
    assert status == code, body
    assert body["error"]["type"] == "invalid_request_error"
    assert body["error"]["message"]


# -- other origins and hosts -------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Referer": EVIL + "/page"},
        {"Origin": "http://127.0.0.1:1"},
    ],
)
def test_control_routes_refuse_other_origins(server, session, headers):
    status, body = api(server, "POST", "/_emulator/reset", "", headers=headers)

    assert_refused(status, body, 403)
    assert api(server, "GET", "/_emulator/")[1]["objects"]["checkout.session"] == 1
    # Reading them from another site is refused too.
    assert_refused(*api(server, "GET", "/_emulator/settings", headers=headers), 403)


@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:{port}", "127.0.0.1:1", "attacker"]
)
@pytest.mark.parametrize("path", ["/_emulator/", "/v1/account", "/checkout/cs_x"])
def test_a_foreign_host_header_is_refused(server, host, path):
    # A page rebinding its own name to 127.0.0.1 still sends its own name as Host.
    headers = {"Host": host.format(port=server.port)}

    status, _, text = http("GET", server.url + path, headers=headers)

    assert_refused(status, json.loads(text), 403)


def test_a_foreign_host_cannot_reset(server, session):
    headers = {"Host": f"evil.example:{server.port}"}
    status, body = api(server, "POST", "/_emulator/reset", "", headers=headers)

    assert_refused(status, body, 403)
    assert api(server, "GET", "/_emulator/")[1]["objects"]["checkout.session"] == 1


def test_a_page_of_another_origin_cannot_pay_a_session(server, session):
    status, _, text = http(
        "POST",
        session["url"] + "/pay",
        "card=4242424242424242",
        key=None,
        headers={"Origin": EVIL},
    )

    assert_refused(status, json.loads(text), 403)
    _, still = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    assert still["status"] == "open"


def portal_action(server, session, action):
    """(the URL of a portal action on the paid session's subscription, its id)."""
    http("POST", server.url + f"/_emulator/checkout/{session['id']}/complete", "")
    _, paid = api(server, "GET", f"/v1/checkout/sessions/{session['id']}")
    _, portal = api(
        server, "POST", "/v1/billing_portal/sessions", f"customer={paid['customer']}"
    )
    sub_id = paid["subscription"]
    return f"{portal['url']}/subscriptions/{sub_id}/{action}", sub_id


def test_a_page_of_another_origin_cannot_act_in_the_portal(server, session):
    action, sub_id = portal_action(server, session, "cancel_now")

    status, _, text = http("POST", action, "", key=None, headers={"Referer": EVIL})

    assert_refused(status, json.loads(text), 403)
    _, sub = api(server, "GET", f"/v1/subscriptions/{sub_id}")
    assert sub["status"] == "active"


def test_a_hosted_page_form_with_an_array_is_a_400(server, session):
    action, _ = portal_action(server, session, "switch_price")

    status, _, page = http("POST", action, "price[]=price_x", key=None)

    assert status == 400
    assert "Invalid string" in page


def test_the_emulator_s_own_pages_and_loopback_names_are_accepted(server, session):
    own = {"Origin": server.url, "Referer": session["url"]}
    status, headers, _ = http(
        "POST", session["url"] + "/pay", "card=4242424242424242", headers=own
    )
    assert status == 303
    assert headers["Location"] == f"https://site.test/done?session_id={session['id']}"
    for host in ("localhost", "127.0.0.1", "[::1]"):
        status, _ = api(
            server, "GET", "/_emulator/", headers={"Host": f"{host}:{server.port}"}
        )
        assert status == 200
    # Servers (stripe-python, scripts) send no Origin at all.
    assert api(server, "POST", "/_emulator/reset", "")[0] == 200


# -- malformed input -------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "content_type", "param"),
    [
        ("/_emulator/settings", "{not json", "application/json", None),
        ("/_emulator/settings", "[1, 2]", "application/json", None),
        ("/_emulator/settings", b"\xff\xfe", "application/json", None),
        ("/_emulator/settings", "webhook_timeout=abc", None, "webhook_timeout"),
        ("/_emulator/settings", "webhook_timeout=0", None, "webhook_timeout"),
        ("/_emulator/settings", '{"webhook_timeout": []}', "application/json", None),
        ("/_emulator/settings", "payment_retry_days=[1,x]", None, None),
        ("/_emulator/settings", "payment_retry_days=[-1]", None, None),
        ("/_emulator/settings", "webhook_retry_delays=5", None, None),
        ("/_emulator/settings", "final_payment_failure=explode", None, None),
        ("/_emulator/settings", "nope=1", None, "nope"),
        ("/_emulator/faults", "path=/v1/x&times=abc", None, "times"),
        ("/_emulator/faults", "path=/v1/x&times=0", None, "times"),
        ("/_emulator/faults", "path=/v1/x&status=abc", None, "status"),
        ("/_emulator/faults", "path=/v1/x&status=404", None, "status"),
        ("/_emulator/faults", "path=/v1/x&status=timeout&hang_seconds=x", None, None),
        ("/_emulator/faults", "path=/v1/x&hang_seconds=-1", None, "hang_seconds"),
        ("/_emulator/faults", "path[]=/v1/x", None, "path"),
        (
            "/_emulator/faults",
            '{"path": "/v1/x", "times": "2x"}',
            "application/json",
            None,
        ),
        ("/_emulator/checkout/cs_x/complete", "card[]=1", None, "card"),
        ("/v1/customers", b"email=\xff", None, None),
        ("/v1/customers", "payment_method[]=pm_card_visa", None, "payment_method"),
        ("/v1/customers", "email=a&&=b", None, None),
    ],
)
def test_malformed_input_is_a_400_in_stripe_s_shape(
    server, path, body, content_type, param
):
    headers = {"Content-Type": content_type} if content_type else None

    status, answer = api(server, "POST", path, body, headers=headers)

    assert_refused(status, answer, 400)
    if param:
        assert answer["error"]["param"] == param


def test_settings_are_typed_and_checked_at_input(server):
    changed = api(
        server,
        "POST",
        "/_emulator/settings",
        "webhook_timeout=2.5&payment_retry_days[]=1&payment_retry_days[]=2"
        "&webhook_retry_delays=[0.1, 3]",
    )[1]

    assert changed["webhook_timeout"] == 2.5
    assert changed["payment_retry_days"] == [1, 2]
    assert changed["webhook_retry_delays"] == [0.1, 3]


def test_a_refused_webhook_timeout_leaves_delivery_working(server, receiver):
    hook = receiver()
    assert api(server, "POST", "/_emulator/settings", "webhook_timeout=abc")[0] == 400
    assert server.engine.settings()["webhook_timeout"] == 10
    api(server, "POST", "/v1/webhook_endpoints", f"url={hook.url}&enabled_events[]=*")

    api(server, "POST", "/v1/customers", "email=hooked@example.com")

    wait_for(lambda: len(hook.posts) == 1)


def test_the_webhook_sender_outlives_a_failing_send(server, receiver, monkeypatch):
    hook = receiver()
    api(server, "POST", "/v1/webhook_endpoints", f"url={hook.url}&enabled_events[]=*")
    real = server.engine.delivery_request
    calls = []

    def fails_once(delivery_id, timestamp=None):
        calls.append(delivery_id)
        if len(calls) == 1:
            raise RuntimeError("broken once")
        return real(delivery_id, timestamp)

    monkeypatch.setattr(server.engine, "delivery_request", fails_once)

    api(server, "POST", "/v1/customers", "email=first@example.com")
    wait_for(lambda: server.engine.deliveries()[0]["attempts"])
    assert "broken once" in server.engine.deliveries()[0]["attempts"][0]["error"]
    api(server, "POST", "/v1/customers", "email=second@example.com")

    wait_for(lambda: len(hook.posts) >= 2)


# -- broken connections -------------------------------------------------------------


def raw(server, head, body=b"", timeout=5.0):
    """Send raw bytes; return everything the emulator answers before it closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(head.format(host=f"127.0.0.1:{server.port}").encode() + body)
        answer = b""
        started = time.monotonic()
        while chunk := sock.recv(65536):
            answer += chunk
        return answer, time.monotonic() - started


@pytest.mark.parametrize(
    "length_headers",
    [
        "Content-Length: -1\r\n",
        "Content-Length: abc\r\n",
        "Content-Length: 1e3\r\n",
        "Content-Length: 3\r\nContent-Length: 4\r\n",
        "Transfer-Encoding: chunked\r\n",
    ],
)
def test_a_bad_body_length_is_a_400_and_the_connection_closes(server, length_headers):
    head = (
        "POST /v1/customers HTTP/1.1\r\nHost: {host}\r\n"
        "Authorization: Bearer sk_test_x\r\n" + length_headers + "\r\n"
    )

    answer, _ = raw(server, head, b"abc")

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 400 Bad Request"
    body = json.loads(rest.partition(b"\r\n\r\n")[2])
    assert body["error"]["type"] == "invalid_request_error"
    assert server.engine.summary().get("customer", 0) == 0


def test_a_body_that_never_arrives_does_not_hold_the_connection(tmp_path):
    emulator = EmulatorServer("127.0.0.1", 0, request_timeout=0.5).start()
    try:
        head = (
            "POST /v1/customers HTTP/1.1\r\nHost: {host}\r\nContent-Length: 10\r\n\r\n"
        )
        answer, waited = raw(emulator, head, b"abc")
    finally:
        emulator.stop()

    assert answer.startswith(b"HTTP/1.1 408 ")
    assert waited < 3


def test_a_body_too_large_is_refused_without_reading_it(server):
    head = (
        "POST /v1/customers HTTP/1.1\r\nHost: {host}\r\n"
        "Authorization: Bearer sk_test_x\r\nContent-Length: 99999999\r\n\r\n"
    )

    answer, waited = raw(server, head, b"x" * 1000)

    assert answer.startswith(b"HTTP/1.1 400 ")
    assert waited < 3


def test_a_burst_of_pending_connections_all_get_answers():
    emulator = EmulatorServer("127.0.0.1", 0)
    pending = 128
    # Not serving yet: every connection waits in the listen queue, as during a
    # burst that arrives faster than the emulator accepts.
    selector = selectors.DefaultSelector()
    sockets = []
    try:
        for _ in range(pending):
            sock = socket.socket()
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", emulator.port))
            selector.register(sock, selectors.EVENT_WRITE)
            sockets.append(sock)
        connected = set()
        deadline = time.monotonic() + 0.5
        while len(connected) < pending and time.monotonic() < deadline:
            for key, _ in selector.select(timeout=0.1):
                if key.fileobj.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    connected.add(key.fileobj)
                selector.unregister(key.fileobj)
        emulator.start()
        assert len(connected) == pending
        request = (
            f"GET /v1/account HTTP/1.1\r\nHost: 127.0.0.1:{emulator.port}\r\n"
            "Authorization: Bearer sk_test_x\r\nConnection: close\r\n\r\n"
        ).encode()
        for sock in sockets:
            sock.setblocking(True)
            sock.settimeout(10)
            sock.sendall(request)
        answers = [sock.recv(32) for sock in sockets]
    finally:
        selector.close()
        for sock in sockets:
            sock.close()
        emulator.stop()

    assert [answer[:15] for answer in answers] == [b"HTTP/1.1 200 OK"] * pending
