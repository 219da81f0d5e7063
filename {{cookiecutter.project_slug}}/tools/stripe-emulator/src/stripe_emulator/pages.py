"""The hosted Checkout, billing portal, invoice and receipt pages: plain,
self-contained HTML.

The portal page shows only the controls the session's configuration allows (the
engine refuses the others anyway).
"""

from datetime import UTC, datetime
from html import escape
from typing import Any

JSON = dict[str, Any]

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f8fa;color:#1a1f36;
margin:0;padding:2rem 1rem}
main{max-width:34rem;margin:0 auto;background:#fff;border:1px solid #e3e8ee;border-radius:8px;
padding:1.5rem 2rem}
h1{font-size:1.3rem;margin-top:0}h2{font-size:1.05rem;margin:1.2rem 0 .4rem}
table{width:100%;border-collapse:collapse;margin:.5rem 0}td{padding:.3rem 0}
td.amount{text-align:right}.total td{border-top:1px solid #e3e8ee;font-weight:600}
label{display:block;margin:.6rem 0 .2rem;font-size:.9rem}
input,select{width:100%;box-sizing:border-box;padding:.45rem;border:1px solid #c1c9d2;
border-radius:4px;font-size:1rem}
button{margin:.35rem .35rem 0 0;padding:.5rem .9rem;border:0;border-radius:4px;
background:#635bff;color:#fff;font-size:.95rem;cursor:pointer}
button.secondary{background:#e3e8ee;color:#1a1f36}button.danger{background:#df1b41}
.error{background:#fde8ec;color:#a41c3c;padding:.6rem;border-radius:4px}
.notice{background:#e6f6ec;color:#0d6832;padding:.6rem;border-radius:4px}
.sub{border:1px solid #e3e8ee;border-radius:6px;padding:.8rem 1rem;margin:.8rem 0}
.muted{color:#697386;font-size:.85rem}form.inline{display:inline}
.badge{display:inline-block;padding:0 .4rem;border-radius:4px;background:#e3e8ee;font-size:.8rem}
"""


def money(amount: int | None, currency: str) -> str:
    if amount is None:
        return "-"
    return f"{amount / 100:,.2f} {currency.upper()}"


def date(timestamp: int | None) -> str:
    if not timestamp:
        return "-"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")


def interval(price: JSON) -> str:
    if price.get("type") == "one_time":
        return "one-time purchase"
    recurring = price.get("recurring") or {}
    count = recurring.get("interval_count", 1)
    unit = recurring.get("interval", "")
    return f"every {count} {unit}s" if count != 1 else f"per {unit}"


def page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Stripe emulator</title><style>{STYLE}</style></head>"
        f'<body><main>{body}<p class="muted">Stripe emulator: test mode, no real'
        " payments.</p></main></body></html>"
    )


def checkout_page(
    session: JSON, line_items: list[JSON], error: str | None = None
) -> str:
    """The hosted Checkout page for an open session."""
    sid = escape(session["id"])
    if session["status"] != "open":
        body = f"<h1>Checkout</h1><p>This checkout session is {escape(session['status'])}.</p>"
        if session["status"] == "complete":
            url = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"])
            body += f'<p><a href="{escape(url)}">Continue</a></p>'
        return page("Checkout", body)
    rows = "".join(
        f"<tr><td>{escape(item['description'])} &times; {item['quantity']}"
        f'<div class="muted">{escape(interval(item["price"]))}</div></td>'
        f'<td class="amount">{money(item["amount_total"], item["currency"])}</td></tr>'
        for item in line_items
    )
    currency = session["currency"]
    discount = session["total_details"]["amount_discount"]
    if discount:
        rows += (
            '<tr id="discount"><td>Discount</td>'
            f'<td class="amount">-{money(discount, currency)}</td></tr>'
        )
    rows += (
        '<tr class="total"><td>Due today</td>'
        f'<td class="amount" id="due">{money(session["amount_total"], currency)}</td></tr>'
    )
    error_html = f'<p class="error" role="alert">{escape(error)}</p>' if error else ""
    promotion = _promotion_form(sid, session, bool(discount))
    email = session.get("customer_email") or ""
    email_field = (
        ""
        if session.get("customer")
        else '<label for="email">Email</label>'
        f'<input id="email" name="email" type="email" value="{escape(email)}">'
    )
    cancel = (
        f'<p><a id="cancel" href="{escape(session["cancel_url"])}">Cancel and go back</a></p>'
        if session.get("cancel_url")
        else ""
    )
    trial = ""
    if session["payment_method_collection"] == "if_required" and not session.get(
        "amount_total"
    ):
        trial = (
            '<button type="submit" name="card" value="none" id="start-trial">'
            'Start trial</button><p class="muted">No card needed now.</p>'
        )
    heading = "Pay" if session["mode"] == "payment" else "Subscribe"
    body = f"""<h1>{heading}</h1>{error_html}
<table>{rows}</table>{promotion}
<form method="post" action="/checkout/{sid}/pay">{email_field}{trial}
<label for="card_number">Card number</label>
<input id="card_number" name="card_number" inputmode="numeric" autocomplete="off"
 placeholder="4242 4242 4242 4242">
<button type="submit" name="card" value="">Pay</button>
<h2>Test cards</h2>
<button type="submit" name="card" value="4242424242424242" id="pay-success">Pay with
 4242 4242 4242 4242 (succeeds)</button>
<button type="submit" name="card" value="4000000000000002" id="pay-decline"
 class="secondary">Pay with 4000 0000 0000 0002 (declined)</button>
</form>{cancel}"""
    return page("Checkout", body)


def _promotion_form(session_id: str, session: JSON, applied: bool) -> str:
    """The promotion code field, on sessions with `allow_promotion_codes`."""
    if not session.get("allow_promotion_codes"):
        return ""
    action = f"/checkout/{session_id}/promotion_code"
    remove = ""
    if session.get("discounts"):
        remove = (
            '<button type="submit" name="code" value="" id="remove-code"'
            ' class="secondary">Remove code</button>'
        )
    shown = "Code applied." if applied else ""
    return (
        f'<form method="post" action="{action}">'
        '<label for="promotion_code">Promotion code</label>'
        '<input id="promotion_code" name="code" autocomplete="off">'
        f'<button type="submit" id="apply-code">Apply</button>{remove}</form>'
        + (f'<p class="notice" role="status">{shown}</p>' if shown else "")
    )


def _form(action: str, button: str, css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return (
        f'<form class="inline" method="post" action="{action}">'
        f'<button type="submit"{klass}>{button}</button></form>'
    )


def _subscription_block(
    session_id: str, entry: JSON, prices: list[tuple[JSON, str]]
) -> str:
    sub, controls = entry["subscription"], entry["controls"]
    item = sub["items"]["data"][0]
    price = item["price"]
    sid = escape(sub["id"])
    base = f"/portal/{escape(session_id)}/subscriptions/{sid}"
    lines = [
        f'<div class="sub" id="{sid}"><strong>{escape(entry["product"])}</strong>'
        f' <span class="badge">{escape(sub["status"])}</span>',
        f"<div>{money(price['unit_amount'], price['currency'])} {escape(interval(price))},"
        f" quantity {item['quantity']}</div>",
        f'<div class="muted">Current period {date(item["current_period_start"])} to'
        f" {date(item['current_period_end'])}</div>",
    ]
    if sub["status"] in ("canceled", "incomplete_expired"):
        lines.append(f'<div class="muted">Ended {date(sub["ended_at"])}</div></div>')
        return "".join(lines)
    if sub["cancel_at_period_end"]:
        lines.append(f'<p class="notice">Cancels on {date(sub["cancel_at"])}.</p>')
    if "switch_price" in controls:
        options = "".join(
            f'<option value="{escape(p["id"])}"{" selected" if p["id"] == price["id"] else ""}>'
            f"{escape(name)}: {money(p['unit_amount'], p['currency'])} {escape(interval(p))}"
            "</option>"
            for p, name in prices
        )
        lines.append(
            f'<form method="post" action="{base}/switch_price">'
            f'<label for="price-{sid}">Plan</label>'
            f'<select id="price-{sid}" name="price">{options}</select>'
            '<button type="submit">Switch plan</button></form>'
        )
    if "set_quantity" in controls:
        lines.append(
            f'<form method="post" action="{base}/set_quantity">'
            f'<label for="qty-{sid}">Quantity</label>'
            f'<input id="qty-{sid}" name="quantity" type="number" min="1"'
            f' value="{item["quantity"]}"><button type="submit">Update quantity</button>'
            "</form>"
        )
    if "resume" in controls:
        lines.append(_form(f"{base}/resume", "Resume subscription"))
    if "cancel_at_period_end" in controls:
        lines.append(
            _form(
                f"{base}/cancel_at_period_end", "Cancel at period end", css="secondary"
            )
        )
    if "cancel_now" in controls:
        lines.append(_form(f"{base}/cancel_now", "Cancel now", css="danger"))
    lines.append("</div>")
    return "".join(lines)


def _card_form(action: str, verb: str) -> str:
    """A card number field and buttons for Stripe's test cards."""
    return (
        f'<form method="post" action="{action}">'
        '<label for="card_number">Card number</label>'
        '<input id="card_number" name="card_number" inputmode="numeric"'
        ' autocomplete="off" placeholder="4242 4242 4242 4242">'
        f'<button type="submit" name="card" value="">{verb}</button>'
        f'<button type="submit" name="card" value="4242424242424242" id="card-success">'
        f"{verb} with 4242 4242 4242 4242 (succeeds)</button>"
        '<button type="submit" name="card" value="4000000000000341" id="card-fail"'
        f' class="secondary">{verb} with 4000 0000 0000 0341 (charges fail)</button>'
        "</form>"
    )


def _invoices_block(invoices: list[JSON]) -> str:
    if not invoices:
        return "<h2>Invoices</h2><p>No invoices yet.</p>"
    rows = "".join(
        f"<tr><td>{date(i['created'])}</td><td>{escape(i['number'] or i['id'])}</td>"
        f"<td>{escape(i['status'])}</td>"
        f'<td class="amount">{money(i["total"], i["currency"])}</td></tr>'
        for i in invoices
    )
    return f'<h2>Invoices</h2><table id="invoices">{rows}</table>'


def portal_page(view: JSON, notice: str | None = None, error: str | None = None) -> str:
    """The hosted billing portal for one customer (`view` from the engine)."""
    session = view["session"]
    blocks = "".join(
        _subscription_block(session["id"], entry, view["prices"])
        for entry in view["subscriptions"]
    )
    if not blocks:
        blocks = "<p>No subscriptions.</p>"
    message = ""
    if error:
        message = f'<p class="error" role="alert">{escape(error)}</p>'
    elif notice:
        message = f'<p class="notice" role="status">{escape(notice)}</p>'
    who = escape((view["customer"] or {}).get("email") or session["customer"])
    card = ""
    if view["can_update_card"]:
        card = "<h2>Payment method</h2>"
        if view["card"]:
            brand = escape(view["card"]["brand"].capitalize())
            card += (
                f'<p id="card">{brand} ending in {escape(view["card"]["last4"])}</p>'
            )
        card += _card_form(
            f"/portal/{escape(session['id'])}/update_card", "Update card"
        )
    history = _invoices_block(view["invoices"]) if view["invoices"] is not None else ""
    body = (
        f'<h1>Billing</h1><p class="muted">{who}</p>{message}{blocks}{card}{history}'
        f'<p><a id="return" href="{escape(session["return_url"])}">Return</a></p>'
    )
    return page("Billing portal", body)


def invoice_page(
    invoice: JSON,
    notice: str | None = None,
    error: str | None = None,
    view: JSON | None = None,
) -> str:
    """The hosted invoice page: its lines, discounts, the balance it used, its
    totals and, while open, a way to pay it (`view` from `documents.invoice_view`)."""
    view = view or {"discounts": [], "balance_used": 0, "receipts": []}
    currency = invoice["currency"]
    number = escape(invoice["number"] or invoice["id"])
    message = ""
    if error:
        message = f'<p class="error" role="alert">{escape(error)}</p>'
    elif notice:
        message = f'<p class="notice" role="status">{escape(notice)}</p>'
    rows = "".join(
        f"<tr><td>{escape(line['description'] or '')}</td>"
        f'<td class="amount">{money(line["amount"], line["currency"])}</td></tr>'
        for line in invoice["lines"]["data"]
    )
    rows += f'<tr class="total"><td>Subtotal</td><td class="amount">{money(invoice["subtotal"], currency)}</td></tr>'
    rows += "".join(
        f'<tr class="discount"><td>{escape(label)}</td>'
        f'<td class="amount">-{money(amount, currency)}</td></tr>'
        for label, amount in view["discounts"]
    )
    rows += f'<tr><td>Total</td><td class="amount">{money(invoice["total"], currency)}</td></tr>'
    if view["balance_used"]:
        rows += (
            '<tr id="balance"><td>Applied balance</td>'
            f'<td class="amount">{money(view["balance_used"], currency)}</td></tr>'
        )
    if invoice["status"] == "paid":
        rows += f'<tr class="total"><td>Amount paid</td><td class="amount">{money(invoice["amount_paid"], currency)}</td></tr>'
    else:
        rows += f'<tr class="total"><td>Amount due</td><td class="amount">{money(invoice["amount_remaining"], currency)}</td></tr>'
    pay = ""
    if invoice["status"] == "open":
        pay = _card_form(f"/invoice/{escape(invoice['id'])}/pay", "Pay")
    links = ""
    if invoice.get("invoice_pdf"):
        links += (
            f'<a id="pdf" href="{escape(invoice["invoice_pdf"])}">Download PDF</a> '
        )
    links += " ".join(
        f'<a class="receipt" href="{escape(url)}">Receipt</a>'
        for url in view["receipts"]
    )
    body = (
        f'<h1>Invoice {number}</h1><p class="muted">Status:'
        f' <span id="status">{escape(invoice["status"])}</span></p>{message}'
        f"<table>{rows}</table>{pay}<p>{links}</p>"
    )
    return page(f"Invoice {number}", body)


def receipt_page(view: JSON) -> str:
    """A charge's receipt: what was paid, with which card, and what was refunded."""
    charge = view["charge"]
    currency = charge["currency"]
    rows = (
        f'<tr><td>Amount</td><td class="amount">{money(charge["amount"], currency)}</td></tr>'
        f'<tr><td>Date</td><td class="amount">{date(charge["created"])}</td></tr>'
        f'<tr><td>Payment method</td><td class="amount">{escape(view["card"])}</td></tr>'
    )
    if charge["description"]:
        rows += f'<tr><td>Description</td><td class="amount">{escape(charge["description"])}</td></tr>'
    if view["invoice"]:
        invoice = view["invoice"]
        rows += (
            f'<tr><td>Invoice</td><td class="amount"><a href="{escape(invoice["hosted_invoice_url"] or "")}">'
            f"{escape(invoice['number'] or invoice['id'])}</a></td></tr>"
        )
    rows += "".join(
        f'<tr class="refund"><td>Refunded {date(r["created"])}</td>'
        f'<td class="amount">-{money(r["amount"], currency)}</td></tr>'
        for r in view["refunds"]
    )
    if charge["amount_refunded"]:
        net = charge["amount"] - charge["amount_refunded"]
        rows += f'<tr class="total"><td>Net</td><td class="amount">{money(net, currency)}</td></tr>'
    status = "Refunded" if charge["refunded"] else charge["status"].capitalize()
    body = (
        f'<h1>Receipt</h1><p class="muted">Status: <span id="status">{escape(status)}</span>'
        f"</p><table>{rows}</table>"
    )
    return page("Receipt", body)


def not_found_page(what: str) -> str:
    return page("Not found", f"<h1>Not found</h1><p>{escape(what)}</p>")
