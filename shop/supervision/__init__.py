"""Supervision: eligible origins, sanctions and credit, amendments of certified facts, complaints,
after-sales requests, spot checks, price monitoring and the regulators' reports."""
