"""Small order exports, written the way the platforms write them, for the tests of
the order book, the orders commands and the walk: a Shopify export (a row per line
item, order-level columns on an order's first row only; refunds, a cancelled order, a
second currency) and an Etsy pair (Sold Orders and Sold Order Items, no email)."""

from __future__ import annotations

from pathlib import Path

SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Accepts Marketing,Currency,"
    "Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,Created at,"
    "Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,Billing Name,Billing Street,"
    "Billing City,Billing Zip,Shipping Name,Shipping Street,Notes,Cancelled at,"
    "Refunded Amount,Id,Tags,Phone"
)
SHOPIFY_ROWS = [
    # Dana: three orders over a year, one of them refunded in full.
    "#1001,dana@example.com,paid,2025-03-02 10:00:00 -0500,fulfilled,no,USD,60.00,6.00,0.00,"
    "66.00,,0.00,Standard,2025-03-02 10:00:00 -0500,1,Linen Apron,60.00,LA-1,Dana Reyes,"
    "1 Elm Street,Springfield,62704,Dana Reyes,1 Elm Street,,,0.00,5001,,+1 555 0100",
    "#1042,dana@example.com,paid,2025-06-10 09:15:00 -0500,fulfilled,no,USD,40.00,8.00,0.00,"
    "48.00,,0.00,Standard,2025-06-10 09:15:00 -0500,2,Blue Mug,12.00,BM-1,Dana Reyes,"
    '1 Elm Street,Springfield,62704,Dana Reyes,1 Elm Street,"Gift wrap,\nplease",,0.00,5042,,',
    # Its second line item: Name and Email again, the order-level columns empty.
    "#1042,dana@example.com,,,,,,,,,,,,,2025-06-10 09:15:00 -0500,1,Tea Towel,16.00,TT-1,,,,,,"
    ",,,,,,",
    "#1077,dana@example.com,refunded,2025-09-01 12:00:00 -0400,fulfilled,no,USD,30.00,0.00,"
    "0.00,30.00,,0.00,Standard,2025-09-01 12:00:00 -0400,1,Green Bowl,30.00,GB-1,Dana Reyes,"
    "1 Elm Street,Springfield,62704,Dana Reyes,1 Elm Street,,,30.00,5077,,",
    # Sam: one order in euros; one cancelled.
    "#1050,sam@example.com,paid,2025-07-01 08:00:00 +0200,fulfilled,no,EUR,25.00,5.00,0.00,"
    "30.00,,0.00,Standard,2025-07-01 08:00:00 +0200,1,Oak Board,25.00,OB-1,Sam Lee,"
    "2 Rue Haute,Lyon,69001,Sam Lee,2 Rue Haute,,,0.00,5050,,",
    "#1051,sam@example.com,voided,,unfulfilled,no,EUR,20.00,0.00,0.00,20.00,,0.00,Standard,"
    "2025-07-02 08:00:00 +0200,1,Oak Spoon,20.00,OS-1,Sam Lee,2 Rue Haute,Lyon,69001,Sam Lee,"
    "2 Rue Haute,,2025-07-02 09:00:00 +0200,0.00,5051,,",
]

ETSY_ORDERS_HEADER = (
    "Sale Date,Order ID,Buyer User ID,Full Name,First Name,Last Name,Number of Items,"
    "Payment Method,Date Shipped,Street 1,Street 2,Ship City,Ship State,Ship Zipcode,"
    "Ship Country,Currency,Order Value,Coupon Code,Coupon Details,Discount Amount,"
    "Shipping Discount,Shipping,Sales Tax,Order Total,Status,Card Processing Fees,Order Net,"
    "Adjusted Order Total,Adjusted Card Processing Fees,Adjusted Net Order Amount,Buyer,"
    "Order Type,Payment Type,InPerson Discount,InPerson Location,SKU"
)
ETSY_ORDERS_ROWS = [
    "08/14/25,2871234567,98765,Ana Souza,Ana,Souza,2,Visa,08/16/25,9 Rua Azul,,Porto,,4000,"
    "Portugal,GBP,34.00,,,0.00,0.00,4.00,0.00,38.00,Completed,1.20,36.80,,,,anasouza,online,"
    "online_cc,,,",
]
ETSY_ITEMS_HEADER = (
    "Sale Date,Item Name,Buyer,Quantity,Price,Coupon Code,Coupon Details,Discount Amount,"
    "Shipping Discount,Order Shipping,Order Sales Tax,Item Total,Currency,Transaction ID,"
    "Listing ID,Date Paid,Date Shipped,Ship Name,Ship Address1,Ship Address2,Ship City,"
    "Ship State,Ship Zipcode,Ship Country,Order ID,Variations,Order Type,Listings Type,"
    "Payment Type,InPerson Discount,InPerson Location,VAT Paid by Buyer,SKU"
)
ETSY_ITEMS_ROWS = [
    "08/14/25,Ceramic Vase,anasouza,1,22.00,,,0.00,0.00,4.00,0.00,22.00,GBP,3301,111,08/14/25,"
    "08/16/25,Ana Souza,9 Rua Azul,,Porto,,4000,Portugal,2871234567,,online,listing,"
    "online_cc,,,0.00,CV-1",
    "08/14/25,Tile Coaster,anasouza,1,12.00,,,0.00,0.00,4.00,0.00,12.00,GBP,3302,112,08/14/25,"
    "08/16/25,Ana Souza,9 Rua Azul,,Porto,,4000,Portugal,2871234567,,online,listing,"
    "online_cc,,,0.00,TC-1",
]


def csv_text(header: str, rows: list[str]) -> str:
    """An export as the platform writes it: CRLF line endings."""
    return "\r\n".join([header, *rows]) + "\r\n"


def write_shopify(folder: Path, rows: list[str] | None = None, name: str = "orders.csv") -> Path:
    """The Shopify export (or these rows under its header), in ``folder``."""
    path = folder / name
    path.write_text(csv_text(SHOPIFY_HEADER, SHOPIFY_ROWS if rows is None else rows), "utf-8")
    return path


def write_etsy(folder: Path) -> tuple[Path, Path]:
    """The Etsy pair, in ``folder``."""
    orders = folder / "EtsySoldOrders2025.csv"
    items = folder / "EtsySoldOrderItems2025.csv"
    orders.write_text(csv_text(ETSY_ORDERS_HEADER, ETSY_ORDERS_ROWS), "utf-8")
    items.write_text(csv_text(ETSY_ITEMS_HEADER, ETSY_ITEMS_ROWS), "utf-8")
    return orders, items
