"""Delivery channels: a JSON webhook (elastic-transport) and SMTP email; secrets only from the environment."""
