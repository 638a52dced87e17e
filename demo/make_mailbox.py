#!/usr/bin/env python3
"""Writes Penny's demo mailbox and what the rule engine should read from it.

    python3 demo/make_mailbox.py        (from anywhere; writes next to this script)

Outputs, both committed:

- mailbox.mbox   40 invented emails, oldest first, mboxrd flavour: a "From <sender>
                 <asctime UTC>" line before each message, one more ">" on every line
                 matching ^>*From , LF line endings, an empty line after each message.
- expected.json  per Message-ID: whether the email is a transaction and, in order, the
                 transactions it states (amount as a decimal string with the currency's
                 minor digits, ISO currency, income/expense, merchant, date, last four).

Every bank, shop, person and domain here is made up for the demo (*.example domains);
Message-IDs end in @demo.penny.example. Standard library only, and deterministic: running
it again writes the same bytes.
"""

import base64
import json
import pathlib
import quopri
import re
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

HERE = pathlib.Path(__file__).resolve().parent
TO = "Robin Hale <robin.hale@demo.penny.example>"
MSGID_DOMAIN = "demo.penny.example"


def tz(hours):
    return timezone(timedelta(hours=hours))


# Offsets as they were on the day: Europe leaves summer time on 25 Oct 2026, the US and
# Canada on 1 Nov 2026.
PT_SUMMER, PT_WINTER = tz(-7), tz(-8)
ET_WINTER = tz(-5)
UK_SUMMER, UK_WINTER = tz(1), tz(0)
CET_SUMMER, CET_WINTER = tz(2), tz(1)
JST, AST = tz(9), tz(3)
UTC = timezone.utc


def at(y, mo, d, h, mi, s, zone):
    return datetime(y, mo, d, h, mi, s, tzinfo=zone)


# --------------------------------------------------------------------------------------
# Encoding helpers


def encoded_words(text, charset="UTF-8", mode="B"):
    """RFC 2047 encoded words for a header value that is not plain ASCII."""
    if text.isascii():
        return text
    codec = {"UTF-8": "utf-8", "ISO-2022-JP": "iso2022_jp", "ISO-8859-15": "iso8859_15"}[charset]
    chunks, chunk = [], ""
    for ch in text:
        if len((chunk + ch).encode(codec)) > 30:
            chunks.append(chunk)
            chunk = ch
        else:
            chunk += ch
    chunks.append(chunk)
    words = []
    for piece in chunks:
        data = piece.encode(codec)
        if mode == "B":
            payload = base64.b64encode(data).decode("ascii")
        else:
            payload = "".join(
                "_" if b == 0x20 else chr(b) if chr(b).isalnum() and b < 0x80 else f"={b:02X}"
                for b in data
            )
        words.append(f"=?{charset}?{mode}?{payload}?=")
    return "\n ".join(words)


def address(name, addr, charset="UTF-8"):
    if name.isascii():
        quoted = f'"{name}"' if any(c in name for c in ",.&@:;") else name
        return f"{quoted} <{addr}>"
    return f"{encoded_words(name, charset)} <{addr}>"


CODECS = {"utf-8": "utf-8", "us-ascii": "ascii", "iso-8859-15": "iso8859_15", "iso-2022-jp": "iso2022_jp"}


def encode_body(text, charset, cte):
    if not text.endswith("\n"):
        text += "\n"
    data = text.encode(CODECS[charset])
    if cte in ("7bit", "8bit"):
        if cte == "7bit":
            assert all(b < 0x80 for b in data), "7bit body is not ASCII"
        return data.decode("ascii" if cte == "7bit" else "latin-1")
    if cte == "quoted-printable":
        return quopri.encodestring(data).decode("ascii")
    if cte == "base64":
        return base64.encodebytes(data).decode("ascii")
    raise ValueError(cte)


class Part:
    def __init__(self, kind, text, cte="7bit", charset="utf-8"):
        assert kind in ("plain", "html")
        self.kind, self.text, self.cte, self.charset = kind, text, cte, charset

    def headers(self):
        return [
            f'Content-Type: text/{self.kind}; charset="{self.charset}"',
            f"Content-Transfer-Encoding: {self.cte}",
        ]

    def body(self):
        return encode_body(self.text, self.charset, self.cte)


def plain(text, cte="7bit", charset="utf-8"):
    return Part("plain", text, cte, charset)


def html(text, cte="quoted-printable", charset="utf-8"):
    return Part("html", text, cte, charset)


def page(title, rows_html, lang="en"):
    """A small HTML email: a heading, paragraphs and tables, the way alert mail is laid out."""
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n</head>\n'
        '<body style="margin:0;padding:0;background:#f4f5f7;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" '
        'style="font-family:Helvetica,Arial,sans-serif;color:#1f2933;">\n'
        f"{rows_html}"
        "</table>\n</body>\n</html>\n"
    )


def table(rows):
    cells = "".join(
        f'<tr><td style="padding:4px 16px 4px 0;color:#616e7c;">{k}</td>'
        f'<td style="padding:4px 0;font-weight:600;">{v}</td></tr>\n'
        for k, v in rows
    )
    return (
        '<tr><td style="padding:8px 24px;">\n'
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="font-size:14px;">\n'
        f"{cells}</table>\n</td></tr>\n"
    )


def para(html_text, style="font-size:15px;line-height:22px;"):
    return f'<tr><td style="padding:8px 24px;{style}">{html_text}</td></tr>\n'


# --------------------------------------------------------------------------------------
# The mailbox

EMAILS = []


def tx(amount, currency, kind, merchant, occurred_on, last4=None):
    assert kind in ("income", "expense")
    return {
        "amount": amount,
        "currency": currency,
        "type": kind,
        "merchant": merchant,
        "occurred_on": occurred_on,
        "account_last4": last4,
    }


def mail(slug, date, sender, subject, parts, transactions=(), note=None, subject_charset="UTF-8",
         subject_mode="B", sender_charset="UTF-8"):
    EMAILS.append(
        {
            "slug": slug,
            "date": date,
            "sender": sender,
            "subject": subject,
            "parts": parts,
            "transactions": list(transactions),
            "note": note,
            "subject_charset": subject_charset,
            "subject_mode": subject_mode,
            "sender_charset": sender_charset,
        }
    )


LARKSPUR = ("Larkspur Bank Alerts", "alerts@larkspurbank.example")
KESTREL = ("Kestrel Bank", "hello@kestrelbank.example")
HAFEN = ("Hafenbank Hamburg", "service@hafenbank.example")
ALMENDRO = ("Banco Almendro", "avisos@bancoalmendro.example")
TILLEULS = ("Banque des Tilleuls", "alertes@banquetilleuls.example")
POCKETPAY = ("Pocketpay", "no-reply@pocketpay.example")
TESSERA = ("Tessera", "notifications@tessera.example")
GULF_PEARL = ("Gulf Pearl Bank", "alerts@gulfpearl.example")
HOLLOW_PINE = ("Hollow Pine Goods", "hello@hollowpine.example")

# 1 — US card alert, plain ASCII.
mail(
    "larkspur-card-copper-kettle",
    at(2026, 10, 2, 7, 48, 3, PT_SUMMER),
    LARKSPUR,
    "Larkspur Bank: $8.40 card purchase at COPPER KETTLE CAFE",
    [
        plain(
            """Hi Robin,

Your Larkspur Everyday Visa card ending in 5532 was just used.

  Merchant:    COPPER KETTLE CAFE #118 PORTLAND OR
  Amount:      $8.40
  Date/time:   Oct 2, 2026 at 7:46 AM PT

Nothing to do if this was you. If it wasn't, call 1-555-0188 any time or
freeze the card in the Larkspur app.

Larkspur Bank - alerts you asked for, nothing you didn't.
"""
        )
    ],
    [tx("8.40", "USD", "expense", "Copper Kettle Cafe", "2026-10-02", "5532")],
)

# 2 — German card payment, HTML only, quoted-printable.
mail(
    "hafenbank-kartenzahlung-sonnenkorn",
    at(2026, 10, 3, 8, 15, 40, CET_SUMMER),
    HAFEN,
    "Kartenzahlung mit Ihrer Debitkarte",
    [
        html(
            page(
                "Kartenzahlung",
                para("<b>Hafenbank Hamburg</b>", "font-size:18px;background:#0b3c5d;color:#ffffff;")
                + para(
                    "Guten Tag Robin Hale,<br><br>mit Ihrer Debitkarte wurde soeben eine "
                    "Kartenzahlung durchgef&uuml;hrt. Ihr Konto wurde belastet:"
                )
                + table(
                    [
                        ("Karte", "Debitkarte endet auf 7710"),
                        ("H&auml;ndler", "B&Auml;CKEREI SONNENKORN, HAMBURG"),
                        ("Datum", "03.10.2026, 08:12 Uhr"),
                        ("Betrag", "23,80&nbsp;&euro;"),
                        ("Verf&uuml;gbarer Betrag", "1.942,17&nbsp;&euro;"),
                    ]
                )
                + para(
                    "Sie kennen diese Zahlung nicht? Sperren Sie Ihre Karte in der Hafenbank-App "
                    "oder unter 040 000 7710.",
                    "font-size:12px;color:#7b8794;",
                ),
                "de",
            )
        )
    ],
    [tx("23.80", "EUR", "expense", "Bäckerei Sonnenkorn", "2026-10-03", "7710")],
)

# 3 — UK card payment, multipart/alternative, quoted-printable, RFC 2047 Q subject.
mail(
    "kestrel-spent-wren-willow",
    at(2026, 10, 5, 13, 2, 11, UK_SUMMER),
    KESTREL,
    "You spent £42.15 at Wren & Willow Books",
    [
        plain(
            """Hi Robin,

You've just spent £42.15 at WREN & WILLOW BOOKS, BATH with your Kestrel
debit card ending 2048.

Doesn't look right? Freeze the card from the app and give us a ring on
0300 000 2048.

Kestrel Bank
""",
            "quoted-printable",
        ),
        html(
            page(
                "Card payment",
                para("KESTREL BANK", "font-size:12px;letter-spacing:2px;color:#52606d;")
                + para("Hi Robin,")
                + para(
                    "You&#39;ve just spent <strong>&pound;42.15</strong> at <strong>WREN &amp; WILLOW "
                    "BOOKS, BATH</strong> with your Kestrel debit card ending 2048."
                )
                + para(
                    "Doesn&rsquo;t look right? Freeze the card from the app and give us a ring on "
                    "0300&nbsp;000&nbsp;2048.",
                    "font-size:13px;color:#616e7c;",
                ),
                "en-GB",
            )
        ),
    ],
    [tx("42.15", "GBP", "expense", "Wren & Willow Books", "2026-10-05", "2048")],
    subject_mode="Q",
)

# 4 — Japanese card notice, base64 UTF-8, encoded subject and sender.
mail(
    "tsubame-card-goriyou-hikari-shobo",
    at(2026, 10, 7, 9, 0, 12, JST),
    ("つばめカード", "info@tsubame-card.example"),
    "カードご利用のお知らせ",
    [
        plain(
            """ハル ロビン 様

いつもつばめカードをご利用いただき、ありがとうございます。
カードのご利用がありましたので、お知らせいたします。

■ご利用カード:つばめカード クラシック(下4桁 3306)
■ご利用日時:2026年10月6日 19:22
■ご利用先:ヒカリ書房
■ご利用金額:4,380円

※本メールは送信専用アドレスからお送りしています。
つばめカード株式会社
""",
            "base64",
        )
    ],
    [tx("4380", "JPY", "expense", "ヒカリ書房", "2026-10-06", "3306")],
    note="Japanese; JPY has no minor digits.",
)

# 5 — Kuwaiti dinar (three decimals), English, plain.
mail(
    "gulfpearl-debit-al-noor",
    at(2026, 10, 9, 14, 7, 55, AST),
    GULF_PEARL,
    "Debit card transaction",
    [
        plain(
            """Dear Customer,

Your Gulf Pearl debit card ending with 8841 was used for a purchase.

Merchant: AL NOOR ELECTRONICS - SALMIYA
Amount: KWD 18.750
Date: 09/10/2026 14:05
Available balance: KWD 1,204.315

For any query please call 1800 000 8841.
Gulf Pearl Bank
"""
        )
    ],
    [tx("18.750", "KWD", "expense", "Al Noor Electronics", "2026-10-09", "8841")],
    note="Kuwaiti dinar has three decimals: 18.750 is eighteen dinars and 750 fils.",
)

# 6 — French card payment, ISO-8859-15, quoted-printable.
mail(
    "tilleuls-paiement-cave-du-port",
    at(2026, 10, 11, 9, 30, 2, CET_SUMMER),
    TILLEULS,
    "Paiement par carte : 27,90 € chez LA CAVE DU PORT",
    [
        plain(
            """Bonjour Robin,

Un paiement par carte a été effectué avec votre carte se terminant par 6120.

Commerçant : LA CAVE DU PORT - MARSEILLE
Montant : 27,90 €
Date : le 10/10/2026 à 19:41
Solde disponible : 2 318,44 €

Vous ne reconnaissez pas cette opération ? Faites opposition depuis
l'application ou au 09 00 00 61 20.

Banque des Tilleuls
""",
            "quoted-printable",
            "iso-8859-15",
        )
    ],
    [tx("27.90", "EUR", "expense", "La Cave du Port", "2026-10-10", "6120")],
    subject_charset="ISO-8859-15",
    subject_mode="Q",
)

# 7 — Peer-to-peer money received.
mail(
    "pocketpay-maya-sent-you",
    at(2026, 10, 13, 18, 21, 9, PT_SUMMER),
    POCKETPAY,
    "Maya Lindqvist sent you $45.00",
    [
        plain(
            """Maya Lindqvist sent you $45.00

"Concert tickets - thanks for booking!"

The money is already in your Pocketpay balance.

Pocketpay
""",
            "8bit",
        )
    ],
    [tx("45.00", "USD", "income", "Maya Lindqvist", "2026-10-13")],
)

# 8 — Newsletter with prices; body lines starting "From " exercise mboxrd escaping.
mail(
    "thistle-thread-newsletter",
    at(2026, 10, 14, 10, 0, 0, UK_SUMMER),
    ("Thistle & Thread", "news@thistlethread.example"),
    "Thistle & Thread newsletter: the autumn knits are here",
    [
        plain(
            """Hello Robin,

The evenings are drawing in, so the autumn collection is here:

  Merino rib scarf ............ £39.00
  Lambswool beanie ............ £24.00
  Fisherman's jumper .......... from £118.00

From the workshop: this season's yarn comes from a single farm in the
Borders, spun and dyed within forty miles of our door.

>From the archive: our very first pattern, the Harbour cardigan, is back
as a free download.

You're receiving this newsletter because you signed up at
thistlethread.example. Unsubscribe: https://thistlethread.example/u/rh
""",
            "quoted-printable",
        ),
        html(
            page(
                "Autumn knits",
                para("<h1 style=\"font-size:22px;\">The autumn knits are here</h1>")
                + table(
                    [
                        ("Merino rib scarf", "&pound;39.00"),
                        ("Lambswool beanie", "&pound;24.00"),
                        ("Fisherman&#39;s jumper", "from &pound;118.00"),
                    ]
                )
                + para(
                    "From the workshop: this season&#39;s yarn comes from a single farm in the Borders."
                )
                + para(
                    '<a href="https://thistlethread.example/u/rh">Unsubscribe</a>',
                    "font-size:12px;color:#7b8794;",
                ),
                "en-GB",
            )
        ),
    ],
    note="Newsletter; the prices are not a purchase.",
)

# 9 — Spanish card purchase, 8bit UTF-8.
mail(
    "almendro-compra-libreria-el-faro",
    at(2026, 10, 16, 12, 14, 30, CET_SUMMER),
    ALMENDRO,
    "Compra con tu tarjeta terminada en 4407",
    [
        plain(
            """Hola, Robin:

Se ha realizado una compra con tu tarjeta de débito terminada en 4407.

Comercio: LIBRERIA EL FARO - VALENCIA
Importe: 37,45 EUR
Fecha: 16 de octubre de 2026, 12:10 h
Saldo disponible: 1.506,12 EUR

Si no reconoces esta operación, llámanos al 900 000 440.
Banco Almendro
""",
            "8bit",
        )
    ],
    [tx("37.45", "EUR", "expense", "Libreria El Faro", "2026-10-16", "4407")],
)

# 10 — UK money received, plain.
mail(
    "kestrel-received-harriet",
    at(2026, 10, 19, 8, 3, 51, UK_SUMMER),
    KESTREL,
    "You received £250.00 from Harriet Cole",
    [
        plain(
            """Hi Robin,

Good news - Harriet Cole has sent £250.00 to your Kestrel current account
ending 2048.

Reference: FLAT SHARE OCT

Kestrel Bank
""",
            "8bit",
        )
    ],
    [tx("250.00", "GBP", "income", "Harriet Cole", "2026-10-19", "2048")],
)

# 11 — German salary credit, multipart: 8bit text and base64 HTML.
salary_rows = [
    ("Auftraggeber", "NORDLICHT SOFTWARE GMBH"),
    ("Verwendungszweck", "GEHALT OKTOBER 2026"),
    ("Betrag", "3.245,90 &euro;"),
    ("Buchungsdatum", "21.10.2026"),
    ("Konto", "DE** **** **** **** **31 07"),
    ("Neuer Kontostand", "4.870,22 &euro;"),
]
mail(
    "hafenbank-gutschrift-gehalt",
    at(2026, 10, 21, 6, 45, 0, CET_SUMMER),
    HAFEN,
    "Gutschrift auf Ihrem Girokonto",
    [
        plain(
            """Guten Tag Robin Hale,

Ihrem Girokonto wurde ein Betrag gutgeschrieben.

Auftraggeber:      NORDLICHT SOFTWARE GMBH
Verwendungszweck:  GEHALT OKTOBER 2026
Betrag:            3.245,90 €
Buchungsdatum:     21.10.2026
Konto:             DE** **** **** **** **31 07
Neuer Kontostand:  4.870,22 €

Mit freundlichen Grüßen
Ihre Hafenbank Hamburg
""",
            "8bit",
        ),
        html(
            page(
                "Gutschrift",
                para("Guten Tag Robin Hale,<br><br>Ihrem Girokonto wurde ein Betrag gutgeschrieben.")
                + table(salary_rows)
                + para("Mit freundlichen Gr&uuml;&szlig;en<br>Ihre Hafenbank Hamburg"),
                "de",
            ),
            "base64",
        ),
    ],
    [tx("3245.90", "EUR", "income", "Nordlicht Software GmbH", "2026-10-21", "3107")],
    note="Salary; the new balance is not a transaction. Account as a masked IBAN ending 31 07.",
)

# 12 — Security notice, no money.
mail(
    "larkspur-new-sign-in",
    at(2026, 10, 23, 21, 17, 44, PT_SUMMER),
    LARKSPUR,
    "New sign-in to your Larkspur account",
    [
        plain(
            """Hi Robin,

We noticed a new sign-in to Larkspur Online Banking.

  Device:    Firefox on Linux
  Location:  Portland, OR (approximate)
  Time:      Oct 23, 2026 at 9:15 PM PT

If this was you, there's nothing else to do. If not, reset your password
at https://larkspurbank.example/security right away.

Larkspur Bank
"""
        )
    ],
    note="Security alert; no money moved.",
)

# 13 — SaaS receipt, HTML only, base64.
mail(
    "lumen-notes-receipt",
    at(2026, 10, 25, 9, 12, 5, tz(-4)),
    ("Lumen Notes Billing", "billing@lumennotes.example"),
    "Your receipt from Lumen Notes",
    [
        html(
            page(
                "Receipt",
                para("<h1 style=\"font-size:20px;\">Receipt from Lumen Notes</h1>")
                + para("Thanks for your payment, Robin. Here is your receipt for Lumen Notes Pro (monthly).")
                + table(
                    [
                        ("Receipt number", "LN-2026-104417"),
                        ("Date paid", "October 25, 2026"),
                        ("Lumen Notes Pro", "$9.00"),
                        ("Tax", "$0.72"),
                        ("Total charged", "$9.72"),
                        ("Payment method", "Visa ending in 5532"),
                    ]
                )
                + para(
                    "Your next payment of $9.72 is scheduled for November 25, 2026.",
                    "font-size:13px;color:#616e7c;",
                ),
            ),
            "base64",
        )
    ],
    [tx("9.72", "USD", "expense", "Lumen Notes", "2026-10-25", "5532")],
    note="Total charged $9.72 ($9.00 plus $0.72 tax); the next payment is a future charge.",
)

# 14 — Online shop order confirmation, multipart, quoted-printable.
mail(
    "hollow-pine-order-confirmed",
    at(2026, 10, 27, 19, 40, 18, PT_SUMMER),
    ("Hollow Pine Goods Orders", "orders@hollowpine.example"),
    "Thanks for your order #HPG-20931",
    [
        plain(
            """Hi Robin,

Thanks for your order! We're getting it ready.

Order #HPG-20931 - placed Oct 27, 2026

  Cedar cutting board (large)   1 x $64.00
  Beeswax wood balm             2 x $12.50
  Subtotal                      $89.00
  Shipping                      $7.95
  Tax                           $7.12
  Order total                   $104.07

Paid with Visa ending in 5532.

We'll email you again when it ships.
Hollow Pine Goods
""",
            "quoted-printable",
        ),
        html(
            page(
                "Order confirmed",
                para("Hi Robin,<br><br>Thanks for your order! We&#39;re getting it ready.")
                + table(
                    [
                        ("Order", "#HPG-20931"),
                        ("Placed", "Oct 27, 2026"),
                        ("Cedar cutting board (large)", "1 x $64.00"),
                        ("Beeswax wood balm", "2 x $12.50"),
                        ("Subtotal", "$89.00"),
                        ("Shipping", "$7.95"),
                        ("Tax", "$7.12"),
                        ("Order total", "$104.07"),
                    ]
                )
                + para("Paid with Visa ending in 5532."),
            )
        ),
    ],
    [tx("104.07", "USD", "expense", "Hollow Pine Goods", "2026-10-27", "5532")],
    note="Only the order total counts; items, shipping and tax are parts of it.",
)

# 15 — Swiss card debit, quoted-printable.
mail(
    "seeland-belastung-alpenblick",
    at(2026, 10, 28, 7, 55, 30, CET_WINTER),
    ("Seeland Bank", "info@seelandbank.example"),
    "Belastung Ihrer Debitkarte: CHF 64.50",
    [
        plain(
            """Grüezi Robin Hale

Ihr Konto wurde mit einer Kartenzahlung belastet.

Karte:              Mastercard XXXX XXXX XXXX 9260
Händler:            BERGKÄSEREI ALPENBLICK, GSTAAD
Transaktionsdatum:  27.10.2026 11:05
Betrag:             CHF 64.50
Verfügbarer Saldo:  CHF 5'310.75

Freundliche Grüsse
Seeland Bank
""",
            "quoted-printable",
        )
    ],
    [tx("64.50", "CHF", "expense", "Bergkäserei Alpenblick", "2026-10-27", "9260")],
)

# 16 — Shipping update, no amount.
mail(
    "hollow-pine-shipped",
    at(2026, 10, 30, 11, 5, 0, PT_SUMMER),
    ("Hollow Pine Goods Orders", "orders@hollowpine.example"),
    "Your order #HPG-20931 has shipped",
    [
        plain(
            """Hi Robin,

Good news: your order #HPG-20931 is on its way.

Carrier:          Cascade Parcel
Tracking number:  CP 7781 2290 4413
Estimated delivery: Nov 3, 2026

Track your package at https://hollowpine.example/track/HPG-20931

Hollow Pine Goods
"""
        )
    ],
    note="Shipping notice without any amount.",
)

# 17 — Refund credited to a card.
mail(
    "larkspur-refund-trailhead",
    at(2026, 11, 1, 10, 26, 37, PT_WINTER),
    LARKSPUR,
    "Refund posted to your Larkspur Visa",
    [
        plain(
            """Hi Robin,

A refund of $59.99 from TRAILHEAD OUTFITTERS was credited to your Larkspur
Everyday Visa card ending in 5532 on 10/31/2026.

It may take a day to show in your available credit.

Larkspur Bank
"""
        )
    ],
    [tx("59.99", "USD", "income", "Trailhead Outfitters", "2026-10-31", "5532")],
    note="Refund: money coming back is income.",
)

# 18 — Japanese incoming transfer, ISO-2022-JP.
mail(
    "hibari-nyukin-kawase",
    at(2026, 11, 3, 8, 30, 0, JST),
    ("ひばり銀行", "info@hibari-bank.example"),
    "入金のお知らせ",
    [
        plain(
            """ハル ロビン 様

ひばり銀行をご利用いただき、ありがとうございます。
お振込による入金がありましたので、お知らせいたします。

■入金日:2026年11月2日
■口座:普通預金 末尾 5518
■振込人:カワセ ユキ
■入金額:52,000円

本メールは送信専用です。
ひばり銀行
""",
            "7bit",
            "iso-2022-jp",
        )
    ],
    [tx("52000", "JPY", "income", "カワセ ユキ", "2026-11-02", "5518")],
    subject_charset="ISO-2022-JP",
    sender_charset="ISO-2022-JP",
    note="Japanese in ISO-2022-JP.",
)

# 19 — Food delivery receipt, multipart.
mail(
    "forkful-order-saffron-alley",
    at(2026, 11, 5, 19, 52, 14, PT_WINTER),
    ("Forkful Receipts", "receipts@forkful.example"),
    "Your Forkful order from Saffron Alley",
    [
        plain(
            """Enjoy your meal, Robin!

Order from Saffron Alley - delivered Nov 5, 2026 at 7:49 PM

  1 x Lamb rogan josh          $18.50
  1 x Garlic naan              $4.25
  1 x Mango lassi              $5.00
  Delivery fee                 $2.99
  Service fee                  $1.88
  Tax                          $2.50
  Tip                          $4.00
  Promo AUTUMN5                -$5.00

  Total charged                $34.12

Paid with Visa ending in 5532.

Forkful
""",
            "quoted-printable",
        ),
        html(
            page(
                "Receipt",
                para("Enjoy your meal, Robin!")
                + table(
                    [
                        ("1 x Lamb rogan josh", "$18.50"),
                        ("1 x Garlic naan", "$4.25"),
                        ("1 x Mango lassi", "$5.00"),
                        ("Delivery fee", "$2.99"),
                        ("Service fee", "$1.88"),
                        ("Tax", "$2.50"),
                        ("Tip", "$4.00"),
                        ("Promo AUTUMN5", "-$5.00"),
                        ("Total charged", "$34.12"),
                    ]
                )
                + para("Paid with Visa ending in 5532."),
            )
        ),
    ],
    [tx("34.12", "USD", "expense", "Forkful", "2026-11-05", "5532")],
    note="Food delivery from Saffron Alley through Forkful; only the total charged counts.",
)

# 20 — Italian card payment, 8bit.
mail(
    "borgo-pagamento-gelateria-aurora",
    at(2026, 11, 7, 16, 24, 9, CET_WINTER),
    ("Banca del Borgo", "avvisi@bancadelborgo.example"),
    "Pagamento con carta",
    [
        plain(
            """Gentile Robin,

è stato effettuato un pagamento con la tua carta di debito ****2290.

Esercente: GELATERIA AURORA - BOLOGNA
Importo: 18,50 €
Data: 07/11/2026 16:20

Se non riconosci il pagamento, blocca la carta dall'app.
Banca del Borgo
""",
            "8bit",
        )
    ],
    [tx("18.50", "EUR", "expense", "Gelateria Aurora", "2026-11-07", "2290")],
)

# 21 — One-time code that mentions an amount.
mail(
    "tessera-verification-code",
    at(2026, 11, 9, 12, 1, 45, CET_WINTER),
    TESSERA,
    "Your Tessera verification code",
    [
        plain(
            """Your verification code: 482913

Use it to approve a card payment of €45.00 at STUDIO ORBIT.
The code expires in 5 minutes. Never share it with anyone, not even us.

Tessera
""",
            "quoted-printable",
        )
    ],
    note="One-time code for a pending payment; nothing has been paid yet.",
)

# 22 — Yen spent from a multi-currency app, English.
mail(
    "tessera-paid-kumo-ramen",
    at(2026, 11, 10, 11, 38, 22, UTC),
    TESSERA,
    "You paid ¥1,280 at Kumo Ramen",
    [
        plain(
            """Card payment

You paid ¥1,280 at Kumo Ramen from your JPY balance.

Card:  Tessera virtual card ••3381
No exchange fee - you paid from a balance in the same currency.

Tessera
""",
            "base64",
        )
    ],
    [tx("1280", "JPY", "expense", "Kumo Ramen", "2026-11-10", "3381")],
)

# 23 — ATM withdrawal.
mail(
    "larkspur-atm-withdrawal",
    at(2026, 11, 12, 17, 40, 3, PT_WINTER),
    LARKSPUR,
    "ATM withdrawal from your checking account",
    [
        plain(
            """Hi Robin,

You withdrew $100.00 in cash at ATM #4471, 3RD & ALDER, PORTLAND OR from
your checking account ending in 3384 on 11/12/2026.

Available balance: $2,144.08

Larkspur Bank
"""
        )
    ],
    [tx("100.00", "USD", "expense", "Larkspur Bank ATM", "2026-11-12", "3384")],
    note="Cash withdrawal; the available balance is not a transaction.",
)

# 24 — Dutch payment, quoted-printable.
mail(
    "grachtbank-betaling-de-spaak",
    at(2026, 11, 13, 17, 5, 12, CET_WINTER),
    ("Grachtbank", "noreply@grachtbank.example"),
    "Betaling van € 14,95 aan Fietsenmaker De Spaak",
    [
        plain(
            """Beste Robin,

Je hebt met je betaalpas eindigend op 6045 een betaling gedaan.

Bedrag:  € 14,95
Aan:     Fietsenmaker De Spaak
Datum:   13 november 2026, 17:02

Groet,
Grachtbank
""",
            "quoted-printable",
        )
    ],
    [tx("14.95", "EUR", "expense", "Fietsenmaker De Spaak", "2026-11-13", "6045")],
)

# 25 — Spanish transfer received, HTML only.
mail(
    "almendro-transferencia-recibida-lucia",
    at(2026, 11, 16, 9, 12, 0, CET_WINTER),
    ALMENDRO,
    "Has recibido una transferencia",
    [
        html(
            page(
                "Transferencia recibida",
                para("Hola, Robin:<br><br>Has recibido una transferencia en tu cuenta terminada en 9952.")
                + table(
                    [
                        ("Ordenante:", "LUC&Iacute;A FERN&Aacute;NDEZ GIL"),
                        ("Concepto:", "Cena de cumplea&ntilde;os"),
                        ("Importe:", "150,00 &euro;"),
                        ("Fecha:", "16/11/2026"),
                    ]
                )
                + para("Banco Almendro", "font-size:12px;color:#7b8794;"),
                "es",
            )
        )
    ],
    [tx("150.00", "EUR", "income", "Lucía Fernández Gil", "2026-11-16", "9952")],
)

# 26 — Marketing with prices, not a transaction.
mail(
    "hollow-pine-black-friday",
    at(2026, 11, 18, 6, 0, 0, PT_WINTER),
    ("Hollow Pine Goods", "hello@hollowpine.example"),
    "Black Friday preview: 30% off everything in the workshop",
    [
        html(
            page(
                "Black Friday preview",
                para("<h1 style=\"font-size:24px;\">30% off everything, this week only</h1>")
                + table(
                    [
                        ("Cedar cutting board", "was $64.00, now $44.80"),
                        ("Walnut serving tray", "was $120.00, now $84.00"),
                        ("Beeswax wood balm", "was $12.50, now $8.75"),
                    ]
                )
                + para("Spend $100 and get free shipping. Use code PINE30 at checkout.")
                + para(
                    'You are receiving this because you subscribed. <a href="https://hollowpine.example/unsubscribe">Unsubscribe</a>',
                    "font-size:12px;color:#7b8794;",
                ),
            )
        )
    ],
    note="Promotion; the prices are offers, nothing was bought.",
)

# 27 — Bahraini dinar (three decimals) credited.
mail(
    "dilmun-crescent-credit-faisal",
    at(2026, 11, 20, 10, 44, 31, AST),
    ("Dilmun Crescent Bank", "alerts@dilmuncrescent.example"),
    "Credit to your account ending 7712",
    [
        plain(
            """Dear Robin Hale,

An amount of BHD 250.000 has been credited to your account ending 7712.

Remitter: FAISAL AL-MANNAI
Date: 20/11/2026
Available balance: BHD 1,318.250

Thank you for banking with Dilmun Crescent Bank.
"""
        )
    ],
    [tx("250.000", "BHD", "income", "Faisal Al-Mannai", "2026-11-20", "7712")],
    note="Bahraini dinar has three decimals.",
)

# 28 — Statement ready, not a transaction.
mail(
    "larkspur-statement-ready",
    at(2026, 11, 22, 8, 0, 0, PT_WINTER),
    LARKSPUR,
    "Your November statement is ready",
    [
        plain(
            """Hi Robin,

Your Larkspur Everyday Visa statement is now available online.

  Statement balance:        $1,284.50
  Minimum payment due:      $35.00
  Payment due date:         12/18/2026

View it at https://larkspurbank.example/statements

Larkspur Bank
"""
        )
    ],
    note="Statement notice; balances and the minimum payment are not transactions.",
)

# 29 — UK online order receipt, HTML only, quoted-printable.
mail(
    "marlow-finch-order-receipt",
    at(2026, 11, 24, 20, 15, 44, UK_WINTER),
    ("Marlow & Finch", "orders@marlowfinch.example"),
    "Thanks for your order - Marlow & Finch",
    [
        html(
            page(
                "Your order",
                para("Thanks for your order, Robin. Your tea is being packed.")
                + table(
                    [
                        ("Order number", "MF-55821"),
                        ("Smoked Lapsang, 250 g", "&pound;14.50"),
                        ("Breakfast blend, 500 g", "&pound;14.00"),
                        ("Delivery", "&pound;3.95"),
                        ("Order total", "&pound;32.45"),
                        ("Includes VAT", "&pound;5.41"),
                        ("Paid with", "Visa ending in 2048"),
                    ]
                ),
                "en-GB",
            )
        )
    ],
    [tx("32.45", "GBP", "expense", "Marlow & Finch", "2026-11-24", "2048")],
)

# 30 — Declined card payment in German, not a transaction.
mail(
    "hafenbank-zahlung-abgelehnt",
    at(2026, 11, 26, 15, 33, 10, CET_WINTER),
    HAFEN,
    "Kartenzahlung abgelehnt",
    [
        plain(
            """Guten Tag Robin Hale,

Ihre Kartenzahlung über 89,00 € bei ELEKTRO WINTER wurde abgelehnt.
Es wurde nichts abgebucht.

Grund: Online-Zahlungen sind für diese Karte deaktiviert.

Ihre Hafenbank Hamburg
""",
            "8bit",
        )
    ],
    note="Declined payment: nothing was charged.",
)

# 31 — French transfer received, multipart.
mail(
    "tilleuls-virement-recu-atelier-moreau",
    at(2026, 11, 28, 10, 2, 0, CET_WINTER),
    TILLEULS,
    "Virement reçu sur votre compte",
    [
        plain(
            """Bonjour Robin,

Vous avez reçu un virement sur votre compte se terminant par 6120.

Émetteur : ATELIER MOREAU
Motif : FACTURE 2026-114 TRADUCTION
Montant : 820,00 €
Date : 27/11/2026

Banque des Tilleuls
""",
            "quoted-printable",
        ),
        html(
            page(
                "Virement re&ccedil;u",
                para("Bonjour Robin,<br><br>Vous avez re&ccedil;u un virement sur votre compte se terminant par 6120.")
                + table(
                    [
                        ("&Eacute;metteur", "ATELIER MOREAU"),
                        ("Motif", "FACTURE 2026-114 TRADUCTION"),
                        ("Montant", "820,00&nbsp;&euro;"),
                        ("Date", "27/11/2026"),
                    ]
                ),
                "fr",
            )
        ),
    ],
    [tx("820.00", "EUR", "income", "Atelier Moreau", "2026-11-27", "6120")],
)

# 32 — Daily digest with two purchases.
mail(
    "larkspur-daily-activity",
    at(2026, 12, 1, 6, 30, 0, PT_WINTER),
    LARKSPUR,
    "Your daily card activity",
    [
        plain(
            """Hi Robin,

Here is yesterday's activity on your card ending in 5532:

11/30   NORTHSTAR FUEL #0087 PORTLAND OR         $41.06
11/30   GREEN GABLE GROCERY PORTLAND OR          $87.19

Total for the day: $128.25

Larkspur Bank
"""
        )
    ],
    [
        tx("41.06", "USD", "expense", "Northstar Fuel", "2026-11-30", "5532"),
        tx("87.19", "USD", "expense", "Green Gable Grocery", "2026-11-30", "5532"),
    ],
    note="Two transactions; the day total is not a third.",
)

# 33 — Savings interest.
mail(
    "kestrel-savings-interest",
    at(2026, 12, 1, 9, 10, 0, UK_WINTER),
    KESTREL,
    "Interest paid into your Easy Saver",
    [
        plain(
            """Hi Robin,

We've paid £2.84 interest into your Kestrel Easy Saver ending 7781 on
30/11/2026.

Kestrel Bank
""",
            "quoted-printable",
        )
    ],
    [tx("2.84", "GBP", "income", "Kestrel Bank", "2026-11-30", "7781")],
)

# 34 — Payment due reminder in Spanish, not a transaction.
mail(
    "almendro-pago-tarjeta-vence",
    at(2026, 12, 5, 9, 0, 0, CET_WINTER),
    ALMENDRO,
    "Tu pago de la tarjeta vence pronto",
    [
        plain(
            """Hola, Robin:

El pago de tu tarjeta de crédito vence el 12/12/2026.

Importe pendiente: 412,30 EUR
Pago mínimo: 60,00 EUR

Puedes pagarlo desde la app en cualquier momento.
Banco Almendro
""",
            "8bit",
        )
    ],
    note="Payment due reminder; nothing has been paid.",
)

# 35 — Canadian Interac e-Transfer received.
mail(
    "maplewood-interac-owen",
    at(2026, 12, 7, 14, 22, 8, ET_WINTER),
    ("Maplewood Credit Union", "notify@maplewoodcu.example"),
    "INTERAC e-Transfer: Owen Tremblay sent you money",
    [
        plain(
            """Hi Robin,

OWEN TREMBLAY sent you $75.00 and the money has been automatically
deposited into your chequing account ending 4129.

Message: "Ski trip gas money"

Maplewood Credit Union
"""
        )
    ],
    [tx("75.00", "CAD", "income", "Owen Tremblay", "2026-12-07", "4129")],
    note="A bare $ with INTERAC and chequing is Canadian dollars.",
)

# 36 — German online shop receipt, multipart, base64 both parts.
blauberg_rows = [
    ("Bestellnummer", "KB-88213"),
    ("Espresso Nr. 7, 1 kg", "24,90 &euro;"),
    ("Versand", "4,90 &euro;"),
    ("Gesamtbetrag", "29,80 &euro;"),
    ("Bezahlt mit", "Visa ****1187"),
]
mail(
    "kaffeeroesterei-blauberg-bestellung",
    at(2026, 12, 9, 18, 47, 0, CET_WINTER),
    ("Kaffeerösterei Blauberg", "shop@blauberg.example"),
    "Vielen Dank für Ihre Bestellung",
    [
        plain(
            """Hallo Robin,

vielen Dank für Ihre Bestellung KB-88213 vom 09.12.2026.

Espresso Nr. 7, 1 kg     24,90 €
Versand                  4,90 €
Gesamtbetrag             29,80 €

Bezahlt mit Visa ****1187.

Ihre Kaffeerösterei Blauberg
""",
            "base64",
        ),
        html(
            page(
                "Bestellung",
                para("Hallo Robin,<br><br>vielen Dank f&uuml;r Ihre Bestellung vom 09.12.2026.")
                + table(blauberg_rows),
                "de",
            ),
            "base64",
        ),
    ],
    [tx("29.80", "EUR", "expense", "Kaffeerösterei Blauberg", "2026-12-09", "1187")],
)

# 37 — Low balance in Kuwaiti dinars, not a transaction.
mail(
    "gulfpearl-low-balance",
    at(2026, 12, 11, 8, 0, 0, AST),
    GULF_PEARL,
    "Low balance alert",
    [
        plain(
            """Dear Customer,

The balance of your account ending with 8841 is below KWD 100.000.

Current balance: KWD 96.415

Gulf Pearl Bank
"""
        )
    ],
    note="Low-balance alert; a balance is not a transaction.",
)

# 38 — Swiss refund, HTML only.
mail(
    "seeland-rueckerstattung-velohaus",
    at(2026, 12, 14, 10, 5, 0, CET_WINTER),
    ("Seeland Bank", "info@seelandbank.example"),
    "Rückerstattung auf Ihre Debitkarte",
    [
        html(
            page(
                "R&uuml;ckerstattung",
                para("Gr&uuml;ezi Robin Hale<br><br>Ihrer Karte wurde eine R&uuml;ckerstattung gutgeschrieben.")
                + table(
                    [
                        ("Karte:", "Mastercard XXXX XXXX XXXX 9260"),
                        ("Auftraggeber:", "VELOHAUS Z&Uuml;RI"),
                        ("Betrag:", "CHF 89.90"),
                        ("Datum:", "13.12.2026"),
                    ]
                ),
                "de-CH",
            )
        )
    ],
    [tx("89.90", "CHF", "income", "Velohaus Züri", "2026-12-13", "9260")],
)

# 39 — Peer-to-peer payment sent.
mail(
    "pocketpay-paid-jonah",
    at(2026, 12, 16, 20, 2, 40, PT_WINTER),
    POCKETPAY,
    "You paid Jonah Reyes $18.00",
    [
        plain(
            """You paid Jonah Reyes $18.00

Note: "Pizza night"

Paid from your Pocketpay balance.

Pocketpay
"""
        )
    ],
    [tx("18.00", "USD", "expense", "Jonah Reyes", "2026-12-16")],
)

# 40 — Japanese year-end campaign, not a transaction.
mail(
    "tsubame-card-campaign",
    at(2026, 12, 18, 10, 0, 0, JST),
    ("つばめカード", "info@tsubame-card.example"),
    "年末キャンペーンのご案内",
    [
        plain(
            """ハル ロビン 様

つばめカードの年末キャンペーンが始まりました。

期間中、対象店舗で合計10,000円以上のお買い物をされた方に
500円分のポイントをプレゼントいたします。

配信停止をご希望の方は会員サイトから手続きしてください。
つばめカード株式会社
""",
            "base64",
        )
    ],
    note="Campaign; the yen figures are offers.",
)


# --------------------------------------------------------------------------------------
# Writing

FROM_LINE = re.compile(r"^(>*From )", re.M)
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def message_id(n, e):
    return f"{n:03d}.{e['slug']}@{MSGID_DOMAIN}"


def render(n, e):
    name, addr = e["sender"]
    lines = [
        f"Message-ID: <{message_id(n, e)}>",
        f"Date: {format_datetime(e['date'])}",
        f"From: {address(name, addr, e['sender_charset'])}",
        f"To: {TO}",
        f"Subject: {encoded_words(e['subject'], e['subject_charset'], e['subject_mode'])}",
        "MIME-Version: 1.0",
    ]
    parts = e["parts"]
    if len(parts) == 1:
        lines += parts[0].headers()
        return "\n".join(lines) + "\n\n" + parts[0].body()
    boundary = f"=_penny_demo_{n:03d}"
    lines.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    out = "\n".join(lines) + "\n\nThis is a multi-part message in MIME format.\n"
    for part in parts:
        out += f"\n--{boundary}\n" + "\n".join(part.headers()) + "\n\n" + part.body().rstrip("\n") + "\n"
    return out + f"--{boundary}--\n"


def separator(e):
    when = e["date"].astimezone(timezone.utc)
    stamp = f"{DAYS[when.weekday()]} {MONTHS[when.month - 1]} {when.day:2d} {when:%H:%M:%S} {when.year}"
    return f"From {e['sender'][1]} {stamp}\n"


def main():
    # Numbered in Date order, as a mailbox export lists them.
    EMAILS.sort(key=lambda e: e["date"])
    mbox, expected = [], []
    for n, e in enumerate(EMAILS, start=1):
        raw = render(n, e)
        mbox.append(separator(e) + FROM_LINE.sub(r">\1", raw) + "\n")
        row = {
            "message_id": message_id(n, e),
            "subject": e["subject"],
            "is_transaction": bool(e["transactions"]),
            "transactions": e["transactions"],
        }
        if e["note"]:
            row["note"] = e["note"]
        expected.append(row)
    # 8bit parts were written as latin-1 code points of their UTF-8 (or other) bytes.
    (HERE / "mailbox.mbox").write_bytes("".join(mbox).encode("latin-1"))
    summary = {
        "mailbox": "mailbox.mbox",
        "generated_by": "make_mailbox.py",
        "comparison": (
            "amount by value; currency, type, occurred_on (the sender's local date) and "
            "account_last4 exactly; merchant case-insensitively after trimming, when given"
        ),
        "emails": expected,
    }
    text = json.dumps(summary, ensure_ascii=False, indent=2) + "\n"
    (HERE / "expected.json").write_text(text, encoding="utf-8")
    txs = sum(len(e["transactions"]) for e in EMAILS)
    currencies = sorted({t["currency"] for e in EMAILS for t in e["transactions"]})
    print(
        f"wrote mailbox.mbox and expected.json: {len(EMAILS)} emails, "
        f"{sum(1 for e in EMAILS if e['transactions'])} with {txs} transactions, "
        f"currencies {', '.join(currencies)}"
    )


if __name__ == "__main__":
    main()
