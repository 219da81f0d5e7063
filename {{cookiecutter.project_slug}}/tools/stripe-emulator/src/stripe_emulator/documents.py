"""What the hosted invoice and receipt pages show, and the invoice PDF.

`invoice_view` and `receipt_view` gather from the store what a customer reads on
an invoice (its lines, each discount by name, the balance it used, the totals and
the receipts of its payments) or on a charge's receipt (amount, card, refunds).
`invoice_pdf` writes an invoice as a small, real PDF (one page of text in a
standard font; long invoices are cut at the page's end), served at the invoice's
`invoice_pdf` URL.
"""

from typing import Any

from .coupons import display_amount
from .shapes import JSON
from .store import Store

PAGE_TOP, LINE_HEIGHT, PAGE_BOTTOM = 800, 16, 60


def discount_label(store: Store, discount_id: str) -> str:
    """How a discount is named: its coupon's name or terms, and the code used."""
    found = store.find(discount_id)
    if found is None:
        return "Discount"
    terms = store.private(discount_id).get("terms", {})
    coupon = store.find(found["source"]["coupon"])
    if coupon is not None and coupon["name"]:
        label = coupon["name"]
    elif terms.get("percent_off") is not None:
        label = f"{terms['percent_off']:g}% off"
    else:
        label = f"{display_amount(terms.get('amount_off') or 0, terms.get('currency') or 'usd')} off"
    promo = store.find(found["promotion_code"])
    return f"{label} ({promo['code']})" if promo else label


def _receipts(store: Store, invoice_id: str) -> list[str]:
    urls = []
    for link in store.where("invoice_payment", "invoice", invoice_id):
        intent = store.find(link["payment"]["payment_intent"])
        charge = store.find(intent["latest_charge"]) if intent else None
        if charge is not None and charge["status"] == "succeeded":
            urls.append(charge["receipt_url"])
    return urls


def invoice_view(store: Store, invoice_id: str) -> JSON | None:
    """Everything the hosted invoice page and the PDF show, or None."""
    invoice = store.find(invoice_id)
    if invoice is None or invoice["object"] != "invoice":
        return None
    discounts = [
        (discount_label(store, total["discount"]), total["amount"])
        for total in invoice["total_discount_amounts"]
        if total["amount"]
    ]
    # The balance met the invoice: a credit used (negative) or a debt added.
    balance_used = invoice["amount_due"] - invoice["total"]
    return {
        "invoice": store.render(invoice),
        "discounts": discounts,
        "balance_used": balance_used,
        "receipts": _receipts(store, invoice_id),
    }


def receipt_view(store: Store, charge_id: str) -> JSON | None:
    """What a charge's receipt page shows, or None."""
    charge = store.find(charge_id)
    if charge is None or charge["object"] != "charge":
        return None
    # The invoice this charge paid, if any: the one whose payment is its intent.
    invoice = next(
        (
            store.find(link["invoice"])
            for link in store.of_type("invoice_payment")
            if link["payment"]["payment_intent"] == charge["payment_intent"]
        ),
        None,
    )
    card = charge["payment_method_details"]["card"]
    return {
        "charge": store.render(charge),
        "card": f"{card['brand'].title()} ending in {card['last4']}",
        "invoice": store.render(invoice) if invoice else None,
        "refunds": [store.render(r) for r in charge["refunds"]["data"]],
    }


# -- the PDF ---------------------------------------------------------------------


def _pdf_text(text: Any) -> str:
    """Text for a PDF string: Latin-1 only, with its special characters escaped."""
    plain = str(text).encode("latin-1", "replace").decode("latin-1")
    return plain.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def _amount(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def invoice_lines(view: JSON) -> list[str]:
    """The invoice as lines of text (what the PDF prints)."""
    invoice = view["invoice"]
    currency = invoice["currency"]
    out = [
        f"Invoice {invoice['number'] or invoice['id']}",
        f"Status: {invoice['status']}",
        f"Billed to: {invoice['customer_email'] or invoice['customer']}",
        "",
    ]
    for line in invoice["lines"]["data"]:
        out.append(
            f"{line['description'] or ''}    {_amount(line['amount'], currency)}"
        )
    out += ["", f"Subtotal    {_amount(invoice['subtotal'], currency)}"]
    out += [
        f"{label}    -{_amount(amount, currency)}"
        for label, amount in view["discounts"]
    ]
    out.append(f"Total    {_amount(invoice['total'], currency)}")
    if view["balance_used"]:
        out.append(f"Applied balance    {_amount(view['balance_used'], currency)}")
    out.append(f"Amount due    {_amount(invoice['amount_due'], currency)}")
    out.append(f"Amount paid    {_amount(invoice['amount_paid'], currency)}")
    return out


def invoice_pdf(view: JSON) -> bytes:
    """A one-page PDF of the invoice (PDF 1.4, Helvetica)."""
    commands = ["BT", "/F1 16 Tf", f"50 {PAGE_TOP} Td"]
    lines = invoice_lines(view)
    commands.append(f"({_pdf_text(lines[0])}) Tj")
    commands += ["/F1 11 Tf", f"0 -{LINE_HEIGHT * 2} Td"]
    room = (PAGE_TOP - PAGE_BOTTOM) // LINE_HEIGHT - 2
    for text in lines[1 : room + 1]:
        commands += [f"({_pdf_text(text)}) Tj", f"0 -{LINE_HEIGHT} Td"]
    commands.append("ET")
    stream = "\n".join(commands).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842]"
        b" /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica"
        b" /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)
