"""Bookings: services sell capacity of a slot, not stock, through the same cart, checkout, payments and
refunds as goods (and, for unions, through bulk orders)."""
