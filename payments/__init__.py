"""Payment gateways (points, offline bank transfer; Stripe later) behind one protocol."""
