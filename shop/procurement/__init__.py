"""Organisations buying in bulk: union-fund budgets and approvals, reserved-share pledges, bulk orders,
pickup vouchers, invoices and completion reports."""
