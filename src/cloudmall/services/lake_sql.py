"""The report's SQL: one text for DuckDB (locally) and Athena/Trino (on AWS).

Written in the dialects' common subset (tests run it in DuckDB and parse it as Trino with
sqlglot). Each query takes two parameters, the first and last day (`YYYY-MM-DD`), as `?`
placeholders (DuckDB's parameters; Athena's ExecutionParameters), and counts each event once by
its id, so an event exported twice (after a database restore) is not counted twice.
"""

from __future__ import annotations

from collections.abc import Mapping

#: The days asked for, and every order placed in them with its status now (from its events).
ORDERS = """
WITH span AS (
    SELECT CAST(? AS VARCHAR) AS first_day, CAST(? AS VARCHAR) AS last_day
),
placed AS (
    SELECT order_id, min(dt) AS order_day, min(amount) AS amount
    FROM events
    WHERE type = 'order.placed'
    GROUP BY order_id
),
moves AS (
    SELECT order_id,
           max(CASE type
                   WHEN 'order.paid' THEN 1
                   WHEN 'order.shipped' THEN 2
                   WHEN 'order.delivered' THEN 3
                   WHEN 'order.cancelled' THEN 4
               END) AS step
    FROM events
    WHERE type IN ('order.paid', 'order.shipped', 'order.delivered', 'order.cancelled')
    GROUP BY order_id
),
orders AS (
    SELECT p.order_id,
           p.order_day,
           p.amount,
           CASE coalesce(m.step, 0)
               WHEN 0 THEN 'pending'
               WHEN 1 THEN 'paid'
               WHEN 2 THEN 'shipped'
               WHEN 3 THEN 'delivered'
               ELSE 'cancelled'
           END AS status,
           coalesce(m.step, 0) IN (1, 2, 3) AS sold
    FROM placed p
    LEFT JOIN moves m ON m.order_id = p.order_id
    CROSS JOIN span s
    WHERE p.order_day BETWEEN s.first_day AND s.last_day
)
"""

#: Per day placed: orders, paid (or later) orders, their revenue, cancellations.
DAILY = (
    ORDERS
    + """
SELECT order_day,
       count(*) AS orders,
       sum(CASE WHEN sold THEN 1 ELSE 0 END) AS paid_orders,
       sum(CASE WHEN sold THEN amount ELSE CAST(0 AS DECIMAL(12, 2)) END) AS revenue,
       sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS cancelled
FROM orders
GROUP BY order_day
ORDER BY order_day
"""
)

#: Orders placed in the days by their status now, and their amounts.
STATUSES = (
    ORDERS
    + """
SELECT status, count(*) AS orders, sum(amount) AS amount
FROM orders
GROUP BY status
ORDER BY status
"""
)

#: The headline: orders, revenue, average order value, cancellation rate.
HEADLINE = (
    ORDERS
    + """
SELECT count(*) AS orders,
       coalesce(sum(CASE WHEN sold THEN 1 ELSE 0 END), 0) AS paid_orders,
       coalesce(sum(CASE WHEN sold THEN amount END), CAST(0 AS DECIMAL(12, 2))) AS revenue,
       CAST(sum(CASE WHEN sold THEN amount END)
            / nullif(sum(CASE WHEN sold THEN 1 ELSE 0 END), 0) AS DECIMAL(12, 2))
           AS average_order_value,
       CAST(sum(CASE WHEN status = 'cancelled' THEN 1 ELSE 0 END) AS DOUBLE)
           / nullif(count(*), 0) AS cancellation_rate
FROM orders
"""
)

_SOLD_LINES = (
    ORDERS  # noqa: S608 (constant text: no input reaches the SQL)
    + """,
lines AS (
    SELECT order_id, product_id,
           max(product_name) AS product_name,
           max(quantity) AS quantity,
           max(unit_price) AS unit_price
    FROM order_lines
    GROUP BY order_id, product_id
),
sold_products AS (
    SELECT l.product_id,
           max(l.product_name) AS product_name,
           sum(l.quantity) AS units,
           sum(l.quantity * l.unit_price) AS revenue
    FROM lines l
    JOIN orders o ON o.order_id = l.order_id
    WHERE o.sold
    GROUP BY l.product_id
)
"""
)

#: The ten products sold most, by units (paid, shipped or delivered orders).
TOP_BY_UNITS = (
    _SOLD_LINES
    + """
SELECT product_id, product_name, units, revenue
FROM sold_products
ORDER BY units DESC, revenue DESC, product_id
LIMIT 10
"""
)

#: The ten products that brought the most revenue.
TOP_BY_REVENUE = (
    _SOLD_LINES
    + """
SELECT product_id, product_name, units, revenue
FROM sold_products
ORDER BY revenue DESC, units DESC, product_id
LIMIT 10
"""
)

#: Charges captured, declined and refunded in the days (refunds also as an amount), and the
#: decline rate.
PAYMENTS = """
WITH span AS (
    SELECT CAST(? AS VARCHAR) AS first_day, CAST(? AS VARCHAR) AS last_day
),
outcomes AS (
    SELECT DISTINCT e.event_id, e.type, e.amount
    FROM events e
    CROSS JOIN span s
    WHERE e.type IN ('payment.captured', 'payment.declined', 'payment.refunded')
      AND e.dt BETWEEN s.first_day AND s.last_day
)
SELECT coalesce(sum(CASE WHEN type = 'payment.captured' THEN 1 ELSE 0 END), 0) AS captured,
       coalesce(sum(CASE WHEN type = 'payment.declined' THEN 1 ELSE 0 END), 0) AS declined,
       coalesce(sum(CASE WHEN type = 'payment.refunded' THEN 1 ELSE 0 END), 0) AS refunded,
       coalesce(sum(CASE WHEN type = 'payment.refunded' THEN amount END),
                CAST(0 AS DECIMAL(12, 2))) AS refunded_amount,
       CAST(sum(CASE WHEN type = 'payment.declined' THEN 1 ELSE 0 END) AS DOUBLE)
           / nullif(sum(CASE WHEN type IN ('payment.captured', 'payment.declined')
                             THEN 1 ELSE 0 END), 0) AS decline_rate
FROM outcomes
"""

#: Units into (+) and out of (−) stock per day and reason (order, cancel, restock, refund,
#: expired).
STOCK_MOVEMENTS = """
WITH span AS (
    SELECT CAST(? AS VARCHAR) AS first_day, CAST(? AS VARCHAR) AS last_day
),
moves AS (
    SELECT DISTINCT e.event_id, e.dt, e.reason, e.delta
    FROM events e
    CROSS JOIN span s
    WHERE e.type = 'product.stock_changed'
      AND e.dt BETWEEN s.first_day AND s.last_day
)
SELECT dt AS movement_day,
       reason,
       count(*) AS movements,
       sum(CASE WHEN delta > 0 THEN delta ELSE 0 END) AS units_in,
       sum(CASE WHEN delta < 0 THEN -delta ELSE 0 END) AS units_out
FROM moves
GROUP BY dt, reason
ORDER BY dt, reason
"""

#: Every report query by name (also the Athena named queries' names).
REPORT_QUERIES: Mapping[str, str] = {
    "headline": HEADLINE,
    "daily": DAILY,
    "statuses": STATUSES,
    "top_by_units": TOP_BY_UNITS,
    "top_by_revenue": TOP_BY_REVENUE,
    "payments": PAYMENTS,
    "stock_movements": STOCK_MOVEMENTS,
}
