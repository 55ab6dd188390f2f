from tests.orders.conftest import shop  # noqa: F401  (a hall, a counter, a certified SKU in stock, a buyer)
