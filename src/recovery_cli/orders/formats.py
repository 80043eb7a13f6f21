"""The exports recover knows: how each one is told apart by its header row, and
which of its columns carry which field of an order.

Columns are named by their loose header key (:func:`~.values.header_key`:
``Created date (UTC)`` is ``createddate``). A field's columns are tried in turn and
the first filled cell wins (Shopify's name is its Billing Name, else its Shipping
Name). No format names an address column: street, city and post code are never read.

The reader's fields, beyond those of a ``--map`` (:data:`~.records.MAP_FIELDS`):

- ``key``: what the order is unique by on its platform (defaults to ``ref``);
- ``group``: what consecutive rows of one order share (defaults to ``key``);
- ``time``: a time of day in a column of its own (Gumroad), joined to ``date``;
- ``adjusted``: a total after refunds (Etsy), from which ``refunded`` is worked out;
- ``cancelled``: a cell that, when filled, makes the order cancelled (Shopify);
- ``refund_flag``: a yes/no cell that makes the row refunded (Gumroad; only the
  first of its columns found is read);
- ``item_id``: the platform's id of an order line (Etsy's Transaction ID);
- ``item_list``: all of an order's items in one cell (WooCommerce);
- ``totals_marker``: a cell that reads "Totals" on an export's summing row.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

# The fields a format can fill, in the order the reader reads them.
FIELDS = (
    "ref",
    "key",
    "group",
    "date",
    "time",
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "total",
    "refunded",
    "adjusted",
    "currency",
    "status",
    "cancelled",
    "refund_flag",
    "item",
    "quantity",
    "price",
    "sku",
    "item_id",
    "item_list",
    "totals_marker",
)

# The fields a look-up shows; a format without a column for one reports it missing.
SHOWN_FIELDS = ("date", "name", "email", "total")


@dataclass(frozen=True)
class Format:
    """One kind of export: its label, how to recognise it, and its columns."""

    platform: str
    label: str
    columns: Mapping[str, tuple[str, ...]]
    # Recognised when the header has, for every group of keys, at least one of them.
    needs: tuple[tuple[str, ...], ...] = ()
    sum_totals: bool = False  # an order's rows each carry a part of its total
    by_key: bool = False  # an order's rows may be anywhere in the file
    default_status: str | None = None  # the status of a row that names none
    elsewhere: frozenset[str] = field(default_factory=frozenset)  # in a partner file

    def matches(self, keys: Collection[str]) -> bool:
        """Whether a header row (as loose keys) is this format's."""
        return bool(self.needs) and all(any(key in keys for key in group) for group in self.needs)

    def score(self, keys: Collection[str]) -> int:
        """How many of the format's columns a header row has (to pick among the
        formats of a platform the caller named)."""
        return sum(1 for names in self.columns.values() for name in names if name in keys)


SHOPIFY = Format(
    platform="shopify",
    label="Shopify orders export",
    needs=(("name",), ("lineitemname",), ("financialstatus",)),
    columns={
        "ref": ("name",),
        "key": ("id", "name"),
        "group": ("name", "id"),
        "date": ("createdat", "paidat"),
        "name": ("billingname", "shippingname"),
        "email": ("email",),
        "phone": ("phone", "billingphone", "shippingphone"),
        "total": ("total",),
        "refunded": ("refundedamount",),
        "currency": ("currency",),
        "status": ("financialstatus",),
        "cancelled": ("cancelledat",),
        "item": ("lineitemname",),
        "quantity": ("lineitemquantity",),
        "price": ("lineitemprice",),
        "sku": ("lineitemsku",),
    },
)

ETSY_ITEMS = Format(
    platform="etsy",
    label="Etsy Sold Order Items",
    needs=(("orderid",), ("transactionid",), ("saledate", "itemname")),
    by_key=True,
    elsewhere=frozenset({"name", "total"}),
    columns={
        "ref": ("orderid",),
        "date": ("saledate",),
        "currency": ("currency",),
        "item": ("itemname",),
        "quantity": ("quantity",),
        "price": ("price",),
        "sku": ("sku",),
        "item_id": ("transactionid",),
    },
)

ETSY_ORDERS = Format(
    platform="etsy",
    label="Etsy Sold Orders",
    needs=(("saledate",), ("orderid",), ("numberofitems", "ordertotal", "ordervalue", "fullname")),
    columns={
        "ref": ("orderid",),
        "date": ("saledate",),
        "name": ("fullname",),
        "first_name": ("firstname",),
        "last_name": ("lastname",),
        "total": ("ordertotal",),
        "adjusted": ("adjustedordertotal",),
        "currency": ("currency",),
        "status": ("status",),
    },
)

GUMROAD = Format(
    platform="gumroad",
    label="Gumroad sales",
    needs=(("purchaseid",), ("purchaseemail", "buyeremail", "saleprice", "purchasedate")),
    sum_totals=True,
    default_status="paid",
    columns={
        "ref": ("ordernumber", "purchaseid"),
        "date": ("purchasedate",),
        "time": ("purchasetime",),
        "name": ("buyername",),
        "email": ("purchaseemail", "buyeremail"),
        "total": ("saleprice", "salepriceusd"),
        "refunded": ("partialrefund",),
        "currency": ("currency",),
        # "Fully Refunded?" when the export has it (the reader takes the first flag
        # column found): "Refunded?" is also yes for a partial refund, whose amount
        # is in "Partial Refund ($)".
        "refund_flag": ("fullyrefunded", "refunded"),
        "item": ("itemname",),
        "quantity": ("quantity",),
        "price": ("itemprice",),
        "sku": ("skuid", "sku"),
        "item_id": ("purchaseid",),
        "totals_marker": ("purchaseid",),
    },
)

STRIPE = Format(
    platform="stripe",
    label="Stripe payments export",
    needs=(("id",), ("amount",), ("createddate", "created", "amountrefunded", "customeremail")),
    columns={
        # The shop's own order number, when the payment carries it as metadata.
        "ref": (
            "ordernumbermetadata",
            "orderidmetadata",
            "orderrefmetadata",
            "orderreferencemetadata",
            "ordermetadata",
            "id",
        ),
        "key": ("id",),
        "date": ("createddate", "created"),
        # The customer's name on the customer, else the name on the card, else the
        # description the shop gave the customer.
        "name": ("customername", "cardname", "customerdescription"),
        "email": ("customeremail", "receiptemail"),
        "phone": ("customerphone",),
        "total": ("amount",),
        "refunded": ("amountrefunded",),
        "currency": ("currency",),
        "status": ("status",),
        "item": ("description",),
        "price": ("amount",),
    },
)

WOO_ANALYTICS = Format(
    platform="woocommerce",
    label="WooCommerce Analytics orders",
    needs=(("order",), ("status",), ("products", "netsales", "itemssold", "customertype")),
    columns={
        "ref": ("order",),
        "date": ("date",),
        "name": ("customer",),
        "total": ("netsales",),
        "status": ("status",),
        "item_list": ("products",),
    },
)

WOO_ORDERS = Format(
    platform="woocommerce",
    label="WooCommerce orders export",
    # Plugins name their columns their own way: an order column and a billing one.
    needs=(
        ("orderid", "ordernumber"),
        (
            "billingemail",
            "emailbilling",
            "billingfirstname",
            "firstnamebilling",
            "lineitems",
            "ordercurrency",
            "ordertotalamount",
        ),
    ),
    columns={
        "ref": ("ordernumber", "orderid"),
        "key": ("orderid", "ordernumber"),
        "date": ("orderdate", "datecreated", "orderdatecreated"),
        "name": ("billingfullname", "fullnamebilling", "customername"),
        "first_name": ("billingfirstname", "firstnamebilling"),
        "last_name": ("billinglastname", "lastnamebilling"),
        "email": ("billingemail", "emailbilling", "customeremail"),
        "phone": ("billingphone", "phonebilling"),
        "total": ("ordertotal", "ordertotalamount"),
        "refunded": ("orderrefund", "orderrefundamount", "refundamount", "refundedamount"),
        "currency": ("ordercurrency", "currency"),
        "status": ("status", "orderstatus"),
        "item": ("itemname", "productname"),
        "quantity": ("quantity", "qty", "itemquantity"),
        "price": ("itemcost", "itemprice"),
        "sku": ("sku", "itemsku"),
        "item_list": ("lineitems", "orderitems", "products"),
    },
)


MAPPED = Format(platform="csv", label="CSV export (mapped columns)", columns={})

# In the order they are tried: the most particular first.
KNOWN = (SHOPIFY, ETSY_ITEMS, ETSY_ORDERS, GUMROAD, STRIPE, WOO_ANALYTICS, WOO_ORDERS)


def detect(keys: Collection[str]) -> Format | None:
    """The known export a header row (as loose keys) is, if any."""
    return next((known for known in KNOWN if known.matches(keys)), None)


def for_platform(platform: str, keys: Collection[str]) -> Format | None:
    """The format of ``platform`` a header row is closest to (the caller named the
    platform, so its columns apply even when the header is not all there), or None
    when it has none of that platform's columns."""
    candidates = [known for known in KNOWN if known.platform == platform]
    for known in candidates:
        if known.matches(keys):
            return known
    best = max(candidates, key=lambda known: known.score(keys), default=None)
    return best if best is not None and best.score(keys) > 0 else None
