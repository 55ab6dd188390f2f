"""Unsold-produce early warning (滞销监测预警), absorption campaigns (消纳) and the cold chain."""
