"""Payment gateways (points, offline bank transfer, Stripe) behind one protocol."""
